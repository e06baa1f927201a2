"""The checkpoint signing key of a real server: made 0600 at first start, reused after a restart,
taken from DECNET_SIGNING_KEY_FILE when set, and refused when others may read it."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from infrastructure.audit.signing import SigningKey
from tests.api.conftest import activate_admin
from tests.api.harness import Backend, DecnetServer, make_account, scratch_dir


def _published(server: DecnetServer) -> str:
    admin = activate_admin(server)
    with server.client() as api:
        auditor = make_account(api, admin, "auditor", prefix="key-aud").token
        fingerprint: str = api.get("/audit/public-key", auditor).json()["fingerprint"]
    return fingerprint


def _fingerprint(path: Path) -> str:
    return SigningKey.load(path).fingerprint()


def test_the_key_is_created_private_and_reused_after_a_restart(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """Given a first start, then signing_key.pem is 0600 and published; a restart keeps it."""
    server = spawn_server()
    path = server.data_dir / "signing_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = _published(server)
    assert first == _fingerprint(path)
    server.stop_cleanly()
    server.start()
    assert _published(server) == first


def test_the_key_file_setting_names_the_key(
    spawn_server: Callable[..., DecnetServer], tmp_path: Path
) -> None:
    """Given DECNET_SIGNING_KEY_FILE, then that file is the key and none is made in the data dir."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    given = keys / "instance.pem"
    key = SigningKey.load_or_create(given)
    server = spawn_server(extra_env={"DECNET_SIGNING_KEY_FILE": str(given)})
    assert _published(server) == key.fingerprint()
    assert not (server.data_dir / "signing_key.pem").exists()


def test_a_key_others_may_read_stops_the_start(backend: Backend, tmp_path: Path) -> None:
    """Given a key file with mode 0644, then `decnet serve` exits naming the file and the fix."""
    exposed = tmp_path / "exposed.pem"
    SigningKey.load_or_create(exposed)
    exposed.chmod(0o644)
    with scratch_dir("key-refused") as data_dir, backend.database_url() as url:
        server = DecnetServer(data_dir, url, extra_env={"DECNET_SIGNING_KEY_FILE": str(exposed)})
        done = server.run_cli("serve", timeout=120)
    assert done.returncode != 0
    assert f"chmod 600 {exposed}" in done.stdout + done.stderr
