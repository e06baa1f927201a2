"""Black-box tests of `GET /artifacts/{decky}/{stored_as}`: admin-only, confined to the root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.harness import Account, ApiClient, Backend, make_account
from tests.api.observations_support import ObservedServer, observed_server, scratch_dir

STORED_AS = "2026-04-18T02:22:56Z_0123456789ab_payload.bin"
SECRET = b"outside the artifacts root\n"


@dataclass
class Vault:
    """A running server, its artifacts root, a secret file outside it and a viewer."""

    server: ObservedServer
    root: Path
    outside: Path
    viewer: Account

    def put(self, decky: str, service: str, name: str, data: bytes) -> Path:
        path = self.root / decky / service / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture(scope="module")
def vault(backend: Backend) -> Iterator[Vault]:
    """A server whose `DECNET_ARTIFACTS_ROOT` is a directory of its own."""
    with scratch_dir("artifacts") as scratch:
        root, outside = scratch / "vault", scratch / "elsewhere"
        root.mkdir()
        outside.mkdir()
        (outside / STORED_AS).write_bytes(SECRET)
        env = {"DECNET_ARTIFACTS_ROOT": str(root)}
        with observed_server(backend, scratch / "data", extra_env=env) as server:
            with server.api() as api:
                viewer = make_account(api, server.token, "viewer")
            yield Vault(server, root, outside, viewer)


@pytest.fixture
def client(vault: Vault) -> ApiClient:
    return vault.server.api()


def fetch(client: ApiClient, vault: Vault, path: str, **params: str) -> tuple[int, bytes]:
    response = client.get(f"/artifacts/{path}", vault.server.token, params=params)
    return response.status_code, response.content


def test_admin_downloads_the_file_byte_identical(vault: Vault, client: ApiClient) -> None:
    """The admin gets the exact bytes as an octet-stream attachment with nosniff."""
    data = os.urandom(4096) + b"\x00\xff<script>alert(1)</script>"
    vault.put("decky-01", "ssh", STORED_AS, data)
    response = client.get(f"/artifacts/decky-01/{STORED_AS}", vault.server.token)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_only_admins_may_download(vault: Vault, client: ApiClient) -> None:
    """A viewer is 403 and an anonymous request 401."""
    vault.put("decky-02", "ssh", STORED_AS, b"x")
    path = f"/artifacts/decky-02/{STORED_AS}"
    assert client.get(path, vault.viewer.token).status_code == 403
    assert client.get(path).status_code == 401


def test_service_narrows_the_search(vault: Vault, client: ApiClient) -> None:
    """Without `service` any service directory of the decky is searched; with it only that one."""
    name = "2026-04-18T02:22:57Z_00000000000a_two.txt"
    vault.put("decky-03", "ftp", name, b"ftp copy")
    vault.put("decky-03", "ssh", name, b"ssh copy")
    only_http = "2026-04-18T02:22:58Z_00000000000b_one.txt"
    vault.put("decky-03", "http", only_http, b"http copy")
    assert fetch(client, vault, f"decky-03/{name}", service="ssh") == (200, b"ssh copy")
    assert fetch(client, vault, f"decky-03/{name}", service="ftp") == (200, b"ftp copy")
    status, body = fetch(client, vault, f"decky-03/{name}")
    assert (status, body in {b"ssh copy", b"ftp copy"}) == (200, True)
    assert fetch(client, vault, f"decky-03/{only_http}") == (200, b"http copy")
    assert fetch(client, vault, f"decky-03/{only_http}", service="ssh")[0] == 404
    assert fetch(client, vault, f"decky-03/{only_http}", service="null") == (200, b"http copy")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param(f"Decky-01/{STORED_AS}", {}, id="uppercase-decky"),
        pytest.param(f"-decky/{STORED_AS}", {}, id="leading-dash"),
        pytest.param(f"dec_ky/{STORED_AS}", {}, id="underscore"),
        pytest.param(f"{'a' * 64}/{STORED_AS}", {}, id="decky-too-long"),
        pytest.param(f"%2E%2E/{STORED_AS}", {}, id="dotdot-decky"),
        pytest.param(f"%2E/{STORED_AS}", {}, id="dot-decky"),
        pytest.param("decky-01/payload.bin", {}, id="no-timestamp"),
        pytest.param("decky-01/2026-04-18T02:22:56Z_0123456789AB_x", {}, id="uppercase-hex"),
        pytest.param("decky-01/2026-04-18T02:22:56Z_0123456789ab_", {}, id="empty-name"),
        pytest.param("decky-01/2026-04-18T02:22:56Z_0123456789ab_a%20b", {}, id="space"),
        pytest.param(f"decky-01/2026-04-18T02:22:56Z_0123456789ab_{'a' * 256}", {}, id="long"),
        pytest.param("decky-01/%2E%2E", {}, id="dotdot-stored-as"),
        pytest.param(f"decky-01/{STORED_AS}", {"service": ".."}, id="dotdot-service"),
        pytest.param(f"decky-01/{STORED_AS}", {"service": "../../elsewhere"}, id="path-service"),
        pytest.param(f"decky-01/{STORED_AS}", {"service": "SSH"}, id="uppercase-service"),
    ],
)
def test_bad_names_are_400(
    vault: Vault, client: ApiClient, path: str, params: dict[str, str]
) -> None:
    """A decky, stored_as or service outside its pattern is 400."""
    vault.put("decky-01", "ssh", STORED_AS, b"inside")
    status, body = fetch(client, vault, path, **params)
    assert status == 400, body


def test_longest_valid_decky_name_is_accepted(vault: Vault, client: ApiClient) -> None:
    """A 63-character decky name passes validation (404: nothing stored under it)."""
    assert fetch(client, vault, f"{'a' * 63}/{STORED_AS}")[0] == 404


@pytest.mark.parametrize("link", ["file", "service-dir", "decky-dir"])
def test_symlinks_out_of_the_root_are_400(vault: Vault, client: ApiClient, link: str) -> None:
    """A file, service directory or decky directory that resolves outside the root is 400."""
    decky = f"link-{link}"
    if link == "file":
        target = vault.root / decky / "ssh" / STORED_AS
        target.parent.mkdir(parents=True)
        target.symlink_to(vault.outside / STORED_AS)
    elif link == "service-dir":
        (vault.root / decky).mkdir()
        (vault.root / decky / "ssh").symlink_to(vault.outside)
    else:
        (vault.root / decky).symlink_to(vault.outside.parent)
    status, body = fetch(client, vault, f"{decky}/{STORED_AS}", service="ssh")
    assert status == 400, body
    assert SECRET not in body


def test_a_linked_out_service_dir_does_not_hide_the_others(vault: Vault, client: ApiClient) -> None:
    """Without `service`, a service directory linking out of the root is skipped, not a 400."""
    decky = "link-skipped"
    (vault.root / decky).mkdir()
    (vault.root / decky / "ftp").symlink_to(vault.outside)  # sorts before `ssh`
    vault.put(decky, "ssh", STORED_AS, b"inside")
    assert fetch(client, vault, f"{decky}/{STORED_AS}") == (200, b"inside")
    assert "artifacts_candidate_outside_root" in vault.server.server.log_tail(400)
    (vault.root / decky / "ssh" / STORED_AS).unlink()
    status, body = fetch(client, vault, f"{decky}/{STORED_AS}")
    assert status == 404, body
    assert SECRET not in body
    assert fetch(client, vault, f"{decky}/{STORED_AS}", service="ftp")[0] == 400


@pytest.mark.parametrize(
    "path",
    [
        f"..%2Felsewhere/{STORED_AS}",
        f"decky-01/..%2F..%2Felsewhere%2F{STORED_AS}",
        f"decky-01%2F..%2F..%2Felsewhere/{STORED_AS}",
        f"%2E%2E%2F%2E%2E/{STORED_AS}",
    ],
)
def test_encoded_slash_traversal_never_reaches_a_file(
    vault: Vault, client: ApiClient, path: str
) -> None:
    """Encoded slashes and dot segments never serve anything (whatever the router makes of them)."""
    status, body = fetch(client, vault, path)
    assert status in {400, 404}, status
    assert SECRET not in body


def test_encoded_slash_in_a_name_is_400(vault: Vault, client: ApiClient) -> None:
    """A decky or stored_as containing `%2F` breaks the name pattern: 400 like any other bad
    name (the slash stays inside its segment; it used to split it, and no route matched)."""
    assert fetch(client, vault, f"..%2Felsewhere/{STORED_AS}")[0] == 400
    assert fetch(client, vault, f"decky-01/..%2F{STORED_AS}")[0] == 400
    assert fetch(client, vault, f"decky-01%2Fssh/{STORED_AS}")[0] == 400
    # Still behind authentication, like any route.
    assert client.get(f"/artifacts/..%2Felsewhere/{STORED_AS}").status_code == 401


def test_missing_artifact_is_404(vault: Vault, client: ApiClient) -> None:
    """Valid names with nothing on disk are 404, for an unknown decky and a known one."""
    missing = "2026-04-18T02:22:59Z_0123456789ab_missing.bin"
    assert fetch(client, vault, f"nobody/{missing}")[0] == 404
    vault.put("decky-04", "ssh", STORED_AS, b"x")
    assert fetch(client, vault, f"decky-04/{missing}")[0] == 404
    assert fetch(client, vault, f"decky-04/{missing}", service="ssh")[0] == 404
