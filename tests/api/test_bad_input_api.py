"""Black-box tests of hostile bytes in bodies, query strings and paths: always a 4xx, never a 500.

Also the body rules every JSON route shares: a non-JSON `Content-Type` is 415 and a JSON object
with a duplicated key is 400 (the last value must never silently win, as it did for login).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.api.harness import Account, ApiClient, DecnetServer, fresh_source_ip

JSON = {"content-type": "application/json"}
INVALID_UTF8 = b'{"username": "adm\xffin", "password": "pw-pw-pw-pw"}'

# (method, path, a valid-looking body) for routes taking a JSON body.
JSON_ROUTES = [
    ("POST", "/auth/login", b'{"username": "admin", "password": "%s"}'),
    ("POST", "/auth/change-password", b'{"old_password": "%s", "new_password": "x"}'),
    ("POST", "/config/users", b'{"username": "%s", "password": "pw-pw-pw-pw", "role": "viewer"}'),
    ("PUT", "/config/deployment-limit", b'{"deployment_limit": 3, "x": "%s"}'),
    ("POST", "/deckies/deploy", b'{"ini_content": "[decky-%s]\\nservices = ssh\\n"}'),
    ("POST", "/views", b'{"label": "%s", "until_position": 1}'),
]
GET_PATHS = [
    "/logs",
    "/logs/histogram",
    "/bounty",
    "/attackers",
    "/audit",
    "/events",
    "/logs/dead-letters",
]


@pytest.fixture
def hostile(server: DecnetServer) -> Iterator[ApiClient]:
    """A client from its own address; afterwards the server log must hold no traceback."""
    before = server.log_path.read_text(errors="replace")
    with server.client(source_ip=fresh_source_ip()) as client:
        yield client
    added = server.log_path.read_text(errors="replace")[len(before) :]
    assert "Traceback" not in added, added[-3000:]
    assert "unhandled_error" not in added, added[-3000:]


def send(
    api: ApiClient, method: str, path: str, token: str | None, body: bytes, **headers: str
) -> int:
    response = api.request(method, path, token, content=body, headers={**JSON, **headers})
    return response.status_code


@pytest.mark.parametrize(("method", "path", "template"), JSON_ROUTES)
def test_a_nul_in_any_json_string_is_400(
    hostile: ApiClient, admin_token: str, method: str, path: str, template: bytes
) -> None:
    """`\\u0000` inside a JSON string is a 400 on every JSON route (PostgreSQL cannot store it)."""
    assert send(hostile, method, path, admin_token, template % b"a\\u0000b") == 400


@pytest.mark.parametrize(("method", "path", "template"), JSON_ROUTES)
def test_invalid_utf8_in_any_json_body_is_400(
    hostile: ApiClient, admin_token: str, method: str, path: str, template: bytes
) -> None:
    """A body that is not UTF-8 is a 400 on every JSON route."""
    assert send(hostile, method, path, admin_token, template % b"a\xff\xfeb") == 400


def test_a_nul_in_the_login_username_is_400_and_logs_nobody_in(hostile: ApiClient) -> None:
    """The issue's reproduction: `adm\\u0000in` is refused as malformed, not a 500."""
    body = b'{"username": "adm\\u0000in", "password": "whatever-pw"}'
    assert send(hostile, "POST", "/auth/login", None, body) == 400
    assert send(hostile, "POST", "/auth/login", None, INVALID_UTF8) == 400


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "a/b"],
)
def test_a_non_json_content_type_is_415(
    hostile: ApiClient, admin_token: str, content_type: str
) -> None:
    """A JSON route refuses any other declared media type with 415, whatever the bytes."""
    body = b'{"deployment_limit": 3}'
    code = send(
        hostile,
        "PUT",
        "/config/deployment-limit",
        admin_token,
        body,
        **{"content-type": content_type},
    )
    assert code == 415
    login = b'{"username": "admin", "password": "x"}'
    headers = {"content-type": content_type}
    assert send(hostile, "POST", "/auth/login", None, login, **headers) == 415


def test_json_media_types_with_parameters_are_accepted(
    hostile: ApiClient, make_user: Callable[..., Account]
) -> None:
    """`application/json; charset=utf-8` is still JSON."""
    user = make_user("viewer")
    body = f'{{"username": "{user.username}", "password": "{user.password}"}}'.encode()
    headers = {"content-type": "application/json; charset=utf-8"}
    assert hostile.post("/auth/login", content=body, headers=headers).status_code == 200


def test_duplicate_keys_are_400_and_never_log_in(
    hostile: ApiClient, make_user: Callable[..., Account]
) -> None:
    """`{"username": "nobody", "username": <real>}` is a 400, not a login as the second name."""
    user = make_user("viewer")
    body = (
        f'{{"username": "nobody", "username": "{user.username}", "password": "{user.password}"}}'
    ).encode()
    response = hostile.post("/auth/login", content=body, headers=JSON)
    assert response.status_code == 400
    assert "duplicate" in response.json()["detail"].lower()


def test_duplicate_keys_are_400_on_every_json_route(hostile: ApiClient, admin_token: str) -> None:
    """Two valid values for one key are still a 400 (no route lets the last one win)."""
    body = b'{"deployment_limit": 3, "deployment_limit": 4}'
    assert send(hostile, "PUT", "/config/deployment-limit", admin_token, body) == 400


DEEP = 50_000  # far past Python's recursion limit, well inside the body size limit


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b'{"deployment_limit": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"deployment_limit": ' + b"[" * 900 + b"]" * 900 + b"}",
    ],
    ids=["array", "object", "in-a-field", "just-under-the-limit"],
)
def test_deeply_nested_json_is_400(hostile: ApiClient, admin_token: str, body: bytes) -> None:
    """A body nested deeper than a decoder can follow is a 400 naming it, not a 500."""
    response = hostile.request(
        "PUT", "/config/deployment-limit", admin_token, content=body, headers=JSON
    )
    assert response.status_code == 400, response.text
    assert "detail" in response.json()


def test_the_public_login_takes_a_small_body(hostile: ApiClient) -> None:
    """The one route without a token takes at most 64 KiB (413 beyond): an 8 MB JSON array
    sent to it cost 0.55 s of the event loop a request, and two clients sending it held every
    other request ~0.35 s. Under the bound a document of the wrong shape is still a 400."""
    big = b'{"username": "' + b"a" * (64 * 1024) + b'", "password": "pw"}'
    assert hostile.post("/auth/login", content=big, headers=JSON).status_code == 413
    wide = b"[" + b"1," * 20_000 + b"1]"
    response = hostile.post("/auth/login", content=wide, headers=JSON)
    assert response.status_code == 400, response.text
    assert "Expected `object`" in response.json()["detail"]


@pytest.mark.parametrize("path", GET_PATHS)
@pytest.mark.parametrize(
    "query",
    ["search=a%00b", "search=%FF%FE", "start_time=%FF", "limit=%00", "offset=1%FF", "%FF=1"],
)
def test_hostile_query_strings_are_never_a_500(
    hostile: ApiClient, admin_token: str, path: str, query: str
) -> None:
    """NUL or invalid UTF-8 in any query parameter (or its name) is answered, never a 500."""
    response = hostile.get(f"{path}?{query}", admin_token)
    assert response.status_code in (200, 400, 422), response.text


@pytest.mark.parametrize(
    "query",
    [
        "/audit/proof?position=%00",
        "/audit/proof?position=%FF%FE",
        "/audit/proof?position=1&tree_size=1%00",
        "/audit/proof?position=1%FF&tree_size=%FF",
        "/audit/proof?position=9223372036854775808",
        "/audit/consistency?from=%00&to=1",
        "/audit/consistency?from=1&to=%FF%FE",
        "/audit/consistency?from=3&to=-1",
        "/audit/checkpoints?limit=%00&offset=%FF",
    ],
)
def test_hostile_proof_parameters_are_a_4xx(
    hostile: ApiClient, admin_token: str, query: str
) -> None:
    """Nonsense positions and tree sizes are answered (a NUL is dropped), never with a 500."""
    response = hostile.get(query, admin_token)
    assert response.status_code in (200, 400, 404, 422), response.text


@pytest.mark.parametrize(
    "path",
    [
        "/deckies/a%00b",
        "/deckies/%FF%FE",
        "/attackers/%FF",
        "/attackers/a%00b/commands",
        "/attackers/%FF%FE/evidence",
        "/attackers/a%00b/evidence",
        "/artifacts/%FF/2024-01-01T00:00:00Z_0123456789ab_x",
        "/config/users/%00",
    ],
)
def test_hostile_path_segments_are_never_a_500(
    hostile: ApiClient, admin_token: str, path: str
) -> None:
    """NUL or invalid UTF-8 in a path parameter is a 4xx."""
    response = hostile.get(path, admin_token)
    if path.startswith("/config/users"):
        response = hostile.delete(path, admin_token)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("path", ["/bounty", "/attackers"])
def test_a_substring_search_past_its_bound_is_422(
    hostile: ApiClient, admin_token: str, path: str
) -> None:
    """A substring search of the bounty vault or of attackers is at most 1,000 characters: the
    trigram index's time grows with the pattern (60,000 characters held a backend 23 s)."""
    longest = hostile.get(path, admin_token, params={"search": "a" * 1000})
    assert longest.status_code == 200, longest.text
    refused = hostile.get(path, admin_token, params={"search": "a" * 1001})
    assert refused.status_code == 422
    assert refused.json() == {"detail": "search is 1,001 characters long; at most 1,000"}
