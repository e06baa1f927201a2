"""The FTP emulator against the standard library's real FTP client (ftplib)."""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import time
from pathlib import Path

import pytest

from infrastructure.artifacts.store import ArtifactStore
from tests.api.collector_support import small_disk
from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy, in_thread

pytestmark = pytest.mark.anyio

USERS = {"ftp": {"users": "backup:Summer2024!,anonymous:*"}}


def connect(env: Deployed) -> ftplib.FTP:
    """An ftplib client connected (not logged in) to the decky's FTP port."""
    client = ftplib.FTP(timeout=CLIENT_TIMEOUT_S)  # noqa: S321 - the protocol under test
    client.connect(env.ip, env.ports["ftp"])
    return client


def logged_in(env: Deployed, user: str = "backup", secret: str = "") -> ftplib.FTP:
    """An ftplib client logged in (as the configured `backup` user unless told otherwise)."""
    client = connect(env)
    client.login(user, secret or "Summer2024!")
    return client


async def test_wrong_password_is_refused_slowly_and_recorded(tmp_path: Path) -> None:
    """A wrong login gets 530 after the brute-force delay; the credential pair is recorded."""
    async with deploy(tmp_path, "127.82.1.1", ("ftp",), USERS) as env:
        client = await in_thread(lambda: connect(env))
        assert client.welcome == "220 (vsFTPd 3.0.5)"
        started = time.monotonic()
        with pytest.raises(ftplib.error_perm, match="530 Login incorrect"):
            await in_thread(lambda: client.login("root", "toor"))
        assert time.monotonic() - started >= 0.9
        auth = await env.wait_for("ftp", "auth", username="root")
        assert (auth.fields["password"], auth.fields["result"]) == ("toor", "failure")
        assert auth.attacker_ip == "127.0.0.1"
        client.close()


async def test_configured_user_logs_in_and_browses_the_fake_tree(tmp_path: Path) -> None:
    """A configured pair logs in; PWD, CWD, LIST and NLST show the fake tree over PASV."""
    async with deploy(tmp_path, "127.82.1.2", ("ftp",), USERS) as env:
        client = await in_thread(lambda: logged_in(env))
        assert await in_thread(client.pwd) == "/home/ftp"
        lines: list[str] = []
        await in_thread(lambda: client.retrlines("LIST", lines.append))
        assert any(line.startswith("d") and line.endswith(" backup") for line in lines)
        assert any(line.endswith(" README.txt") for line in lines)
        await in_thread(lambda: client.cwd("backup"))
        assert await in_thread(lambda: client.nlst()) == [
            "db_dump_2024-03-10.sql.gz",
            "www_2024-03-10.tar.gz",
        ]
        await in_thread(client.quit)
        auth = await env.wait_for("ftp", "auth", username="backup")
        assert auth.fields["result"] == "success"
        commands = [r.fields["command"] for r in env.records("ftp", "command")]
        assert {"PWD", "LIST", "CWD backup", "NLST", "QUIT"} <= set(commands)


async def test_anonymous_is_accepted_only_when_configured(tmp_path: Path) -> None:
    """`anonymous:*` in users lets any password in; without it anonymous fails."""
    async with deploy(tmp_path, "127.82.1.3", ("ftp",), USERS) as env:
        client = await in_thread(lambda: logged_in(env, "anonymous", "guest@example.com"))
        await in_thread(client.quit)
    async with deploy(tmp_path, "127.82.1.4", ("ftp",)) as env:
        client = await in_thread(lambda: connect(env))
        with pytest.raises(ftplib.error_perm, match="530"):
            await in_thread(lambda: client.login("anonymous", "guest@example.com"))
        client.close()


async def test_upload_is_stored_byte_identical_with_its_sha256(tmp_path: Path) -> None:
    """STOR streams the file into the artifact store and records file_captured with its sha256."""
    payload = os.urandom(300_000)
    async with deploy(tmp_path, "127.82.1.5", ("ftp",), USERS) as env:
        client = await in_thread(lambda: logged_in(env))
        reply = await in_thread(lambda: client.storbinary("STOR upload/x.sh", io.BytesIO(payload)))
        assert reply.startswith("226")
        assert "x.sh" in await in_thread(lambda: client.nlst("upload"))
        await in_thread(client.quit)
        record = await env.wait_for("ftp", "file_captured")
    digest = hashlib.sha256(payload).hexdigest()
    assert record.fields["sha256"] == digest
    assert record.fields["size"] == str(len(payload))
    assert record.fields["orig_path"] == "/home/ftp/upload/x.sh"
    stored = tmp_path / "artifacts" / env.name / "ftp" / record.fields["stored_as"]
    assert stored.read_bytes() == payload


async def test_download_attempts_are_logged_and_bait_is_served(tmp_path: Path) -> None:
    """RETR of readable bait sends its content; a protected file gets 550; both are logged."""
    async with deploy(tmp_path, "127.82.1.6", ("ftp",), USERS) as env:
        client = await in_thread(lambda: logged_in(env))
        received = bytearray()
        await in_thread(lambda: client.retrbinary("RETR README.txt", received.extend))
        assert received.startswith(b"Internal file drop.")
        with pytest.raises(ftplib.error_perm, match="550"):
            await in_thread(lambda: client.retrbinary("RETR /etc/passwd", received.extend))
        client.close()
        sent = await env.wait_for("ftp", "download", path="/home/ftp/README.txt")
        denied = await env.wait_for("ftp", "download", path="/etc/passwd")
    assert (sent.fields["result"], denied.fields["result"]) == ("sent", "denied")


async def test_upload_over_the_cap_is_refused_with_552_and_discarded(tmp_path: Path) -> None:
    """An upload past the per-upload cap gets 552 and leaves no file behind."""
    store = ArtifactStore(tmp_path / "artifacts", max_upload=64 * 1024)
    async with deploy(tmp_path, "127.82.1.7", ("ftp",), USERS, store=store) as env:
        client = await in_thread(lambda: logged_in(env))
        big = io.BytesIO(os.urandom(1024 * 1024))
        with pytest.raises(
            (ftplib.error_perm, ftplib.error_temp, OSError), match=r"552|reset|pipe"
        ):
            await in_thread(lambda: client.storbinary("STOR upload/big.bin", big))
        await env.wait_for("ftp", "upload_rejected", path="/home/ftp/upload/big.bin")
        client.close()
    assert list((tmp_path / "artifacts" / env.name / "ftp").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_upload_onto_a_full_artifacts_disk_gets_452_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The artifacts disk is full: STOR is refused with 452 (insufficient storage), recorded as
    rejected, no partial file is left, and the session goes on."""
    with small_disk(tmp_path / "artifacts", "1m") as disk:
        store = ArtifactStore(disk)
        async with deploy(tmp_path, "127.82.1.9", ("ftp",), USERS, store=store) as env:
            client = await in_thread(lambda: logged_in(env))
            (disk / env.name / "ftp").mkdir(parents=True, exist_ok=True)
            big = io.BytesIO(os.urandom(2 * 1024 * 1024))

            def stor() -> None:
                try:
                    client.storbinary("STOR upload/big.bin", big)
                except OSError:  # the server closed the data channel before we stopped sending:
                    client.getresp()  # its answer is still on the control connection

            with pytest.raises(ftplib.error_temp, match=r"^452"):
                await in_thread(stor)
            await env.wait_for("ftp", "upload_rejected", path="/home/ftp/upload/big.bin")
            assert await in_thread(client.pwd) == "/home/ftp"
            client.close()
        assert list((disk / env.name / "ftp").iterdir()) == []


async def test_active_mode_and_escapes_from_the_tree_are_refused(tmp_path: Path) -> None:
    """PORT is refused (no outbound connection); a STOR outside the fake tree gets 553."""
    async with deploy(tmp_path, "127.82.1.8", ("ftp",), USERS) as env:
        client = await in_thread(lambda: logged_in(env))
        with pytest.raises(ftplib.error_perm, match="500 Illegal PORT"):
            await in_thread(lambda: client.sendcmd("PORT 127,0,0,1,200,10"))
        escape = "STOR ../../../../tmp/evil.sh"
        with pytest.raises(ftplib.error_perm, match="553"):
            await in_thread(lambda: client.storbinary(escape, io.BytesIO(b"x")))
        await in_thread(client.quit)
    assert not (tmp_path / "artifacts" / env.name / "ftp").exists()


async def test_commands_before_login_are_refused(tmp_path: Path) -> None:
    """Without a login, LIST gets 530 and is still recorded as a command."""
    async with deploy(tmp_path, "127.82.1.9", ("ftp",)) as env:
        client = await in_thread(lambda: connect(env))
        with pytest.raises(ftplib.error_perm, match="530 Please login"):
            await in_thread(lambda: client.sendcmd("CWD /etc"))
        client.close()
        await env.wait_for("ftp", "command", command="CWD /etc")
