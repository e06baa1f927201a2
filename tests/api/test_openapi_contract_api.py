"""Black-box: what the served OpenAPI document promises about every operation, and OPTIONS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.harness import DecnetServer

METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = "#/components/schemas/ErrorResponse"
OWN_BODY = {"text/event-stream", "application/octet-stream", "application/zip"}


@pytest.fixture(scope="module")
def document(server: DecnetServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/schema/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_login_needs_no_token_and_everything_else_does(document: dict[str, Any]) -> None:
    """Only `POST /auth/login` is public; every other operation names the bearer scheme."""
    for method, path, op in operations(document):
        expected = [] if path == "/api/v1/auth/login" else [{"BearerToken": []}]
        assert op.get("security") == expected, (method, path)


def test_every_response_is_a_named_schema(document: dict[str, Any]) -> None:
    """Bodies are `$ref`s (or lists of them), SSE text or file bytes; never a bare object."""
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                schema = content.get("schema", {})
                named = "$ref" in schema or "$ref" in schema.get("items", {})
                assert named or media in OWN_BODY, (method, path, status, schema)


def test_failures_are_documented_with_the_error_schema(document: dict[str, Any]) -> None:
    """Every 4xx/5xx is an ErrorResponse (health's 503 is its report); 401/403 on secured
    operations, 503 everywhere, 400/413/415/422 wherever a JSON body is taken."""
    for method, path, op in operations(document):
        responses = op["responses"]
        assert "503" in responses, (method, path)
        if op["security"]:
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")) and path != "/api/v1/health":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
    assert document["components"]["schemas"]["ErrorResponse"]["required"] == ["detail"]


def test_query_parameters_have_real_types(document: dict[str, Any]) -> None:
    """Each query parameter is a typed alternative plus SPEC's not-given spellings."""
    typed = 0
    for method, path, op in operations(document):
        for parameter in op.get("parameters", []):
            if parameter["in"] != "query":
                continue
            schema = parameter["schema"]
            if schema.get("type") == "array":
                schema = schema["items"]
            alternatives = schema["anyOf"]
            assert alternatives[-1]["enum"] == ["", "null", "undefined"], (method, path)
            typed += sum(
                1 for a in alternatives[:-1] if {"minimum", "enum", "format", "pattern"} & set(a)
            )
    assert typed >= 40
    limit = next(
        p for p in document["paths"]["/api/v1/logs"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 1000}


def test_no_generated_examples(document: dict[str, Any]) -> None:
    """The document carries no made-up example values (they read as real data)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert not {"examples", "example"} & set(node), node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_options_lists_exactly_each_paths_methods(
    server: DecnetServer, document: dict[str, Any]
) -> None:
    """OPTIONS on every path answers 204 with `Allow` naming its documented methods, never 500."""
    for path, item in document["paths"].items():
        concrete = path.replace("{", "").replace("}", "")
        response = httpx.options(f"{server.base_url}{concrete}")
        assert response.status_code == 204, (path, response.text)
        allowed = {m.strip().lower() for m in response.headers["allow"].split(",")}
        assert allowed - {"options", "head"} == {m for m in item if m in METHODS}, path
        assert ("head" in allowed) == ("get" in item), path  # a HEAD is answered as its GET
