"""Black-box tests of the signing secret kept in the data dir when `DECNET_JWT_SECRET` is unset."""

from __future__ import annotations

import stat
from collections.abc import Callable

from tests.api.conftest import activate_admin
from tests.api.harness import DecnetServer

UNSET = {"DECNET_JWT_SECRET": ""}  # an empty value is "not set" for the settings loader


def test_a_restart_keeps_tokens_valid_without_a_configured_secret(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """With no DECNET_JWT_SECRET, the secret is generated once (0600) and reused: a token
    issued before a restart still works after it."""
    server = spawn_server(extra_env=UNSET)
    token = activate_admin(server)
    secret_file = server.data_dir / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    first = secret_file.read_text()
    assert len(first.strip()) >= 32
    server.stop_cleanly()
    server.start()
    with server.client() as api:
        me = api.get("/auth/me", token)
        assert me.status_code == 200, me.text
    assert secret_file.read_text() == first


def test_maintenance_commands_need_no_secret(spawn_server: Callable[..., DecnetServer]) -> None:
    """`decnet projections status` runs with no DECNET_JWT_SECRET and creates no secret file."""
    server = spawn_server(extra_env=UNSET)
    server.stop_cleanly()
    (server.data_dir / "jwt_secret").unlink()
    result = server.run_cli("projections", "status")
    assert result.returncode == 0, result.stderr
    assert not (server.data_dir / "jwt_secret").exists()
    server.start()


def test_a_short_configured_secret_is_a_one_line_error(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """A DECNET_JWT_SECRET under 32 characters stops `decnet serve` with one line, exit 2."""
    server = spawn_server(extra_env=UNSET)
    server.stop_cleanly()
    server.extra_env["DECNET_JWT_SECRET"] = "too-short"
    result = server.run_cli("serve", timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "decnet: DECNET_JWT_SECRET must be at least 32 characters "
        "(or leave it unset: one is generated once into DECNET_DATA_DIR)"
    ]
    server.extra_env["DECNET_JWT_SECRET"] = ""
    server.start()
