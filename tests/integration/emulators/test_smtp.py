"""The SMTP emulator against the standard library's real SMTP client (smtplib)."""

from __future__ import annotations

import hashlib
import smtplib
from pathlib import Path

import pytest

from domain.observations.bounty import derive_bounties
from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy, in_thread

pytestmark = pytest.mark.anyio

MESSAGE = (
    b"From: ceo@victim.example\r\nTo: finance@victim.example\r\nSubject: urgent wire\r\n\r\n"
    b"Please pay the attached invoice today.\r\n.hidden line starting with a dot\r\n"
)


def connect(env: Deployed) -> smtplib.SMTP:
    """An smtplib client that has said EHLO."""
    client = smtplib.SMTP(env.ip, env.ports["smtp"], timeout=CLIENT_TIMEOUT_S)
    client.ehlo("attacker.example")
    return client


@pytest.mark.parametrize(("distro", "tail"), [("debian-12", b" (Debian/GNU)"), ("rocky-9", b"")])
async def test_banner_is_the_distros_default_smtpd_banner(
    tmp_path: Path, distro: str, tail: bytes
) -> None:
    """Debian's postfix says (Debian/GNU), Ubuntu's (Ubuntu), upstream's nothing."""
    async with deploy(tmp_path, "127.82.4.9", ("smtp",), distro=distro) as env:
        client = smtplib.SMTP(timeout=CLIENT_TIMEOUT_S)
        _, banner = await in_thread(lambda: client.connect(env.ip, env.ports["smtp"]))
        await in_thread(client.quit)
    assert banner == b"files-01 ESMTP Postfix" + tail


async def test_greeting_and_ehlo_look_like_postfix_without_starttls(tmp_path: Path) -> None:
    """The banner names the host; EHLO offers AUTH PLAIN LOGIN; STARTTLS is refused."""
    async with deploy(tmp_path, "127.82.4.1", ("smtp",)) as env:
        client = smtplib.SMTP(timeout=CLIENT_TIMEOUT_S)
        code, banner = await in_thread(lambda: client.connect(env.ip, env.ports["smtp"]))
        assert (code, banner) == (220, b"files-01 ESMTP Postfix (Ubuntu)")
        await in_thread(lambda: client.ehlo("scanner"))
        assert set(client.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        assert not client.has_extn("starttls")
        assert (await in_thread(lambda: client.docmd("STARTTLS")))[0] == 454
        await in_thread(client.quit)
        await env.wait_for(
            "smtp", "command", command="ehlo scanner"
        )  # verbatim, as smtplib sent it


async def test_auth_login_and_plain_are_captured_and_refused(tmp_path: Path) -> None:
    """AUTH LOGIN (prompted) and AUTH PLAIN both fail with 535 and record the credentials."""
    async with deploy(tmp_path, "127.82.4.2", ("smtp",)) as env:
        client = await in_thread(lambda: connect(env))
        client.user, client.password = "info@victim.example", "Spring2024"
        login = client.auth_login
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await in_thread(lambda: client.auth("LOGIN", login, initial_response_ok=False))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await in_thread(lambda: client.login("admin", "admin"))
        await in_thread(client.quit)
        prompted = await env.wait_for("smtp", "auth", username="info@victim.example")
        plain = await env.wait_for("smtp", "auth", username="admin")
    assert (prompted.fields["password"], prompted.fields["mechanism"]) == ("Spring2024", "LOGIN")
    assert (plain.fields["password"], plain.fields["mechanism"]) == ("admin", "PLAIN")
    credential = next(b for b in derive_bounties(plain) if b.bounty_type == "credential")
    assert credential.payload == {"username": "admin", "password": "admin"}


async def test_configured_user_authenticates(tmp_path: Path) -> None:
    """A `users` pair from the INI is accepted with 235."""
    config = {"smtp": {"users": "relay:relay123"}}
    async with deploy(tmp_path, "127.82.4.3", ("smtp",), config) as env:
        client = await in_thread(lambda: connect(env))
        code, _ = await in_thread(lambda: client.login("relay", "relay123"))
        assert code == 235
        await in_thread(client.quit)
        record = await env.wait_for("smtp", "auth", username="relay")
    assert record.fields["result"] == "success"


async def test_relayed_message_is_stored_as_an_artifact(tmp_path: Path) -> None:
    """An unauthenticated message is queued; its body lands byte-identical in the store."""
    async with deploy(tmp_path, "127.82.4.4", ("smtp",)) as env:
        client = await in_thread(lambda: connect(env))
        refused = await in_thread(
            lambda: client.sendmail(
                "ceo@victim.example", ["finance@victim.example", "cfo@victim.example"], MESSAGE
            )
        )
        assert refused == {}
        await in_thread(client.quit)
        record = await env.wait_for("smtp", "file_captured")
    assert record.fields["sha256"] == hashlib.sha256(MESSAGE).hexdigest()
    assert record.fields["mail_from"] == "ceo@victim.example"
    assert record.fields["rcpt_to"] == "finance@victim.example,cfo@victim.example"
    stored = tmp_path / "artifacts" / env.name / "smtp" / record.fields["stored_as"]
    assert stored.read_bytes() == MESSAGE
    assert [b.bounty_type for b in derive_bounties(record)] == ["artifact"]


async def test_oversized_message_is_rejected_with_552(tmp_path: Path) -> None:
    """A message past the 1 MiB cap is read to its end, refused with 552 and not stored."""
    huge = b"Subject: x\r\n\r\n" + b"A" * 1000 + b"\r\n"
    async with deploy(tmp_path, "127.82.4.5", ("smtp",)) as env:
        client = await in_thread(lambda: connect(env))
        with pytest.raises(smtplib.SMTPDataError) as rejected:
            await in_thread(lambda: client.sendmail("a@b.example", ["c@d.example"], huge * 1100))
        assert rejected.value.smtp_code == 552
        assert (await in_thread(client.noop))[0] == 250  # the session survives the rejection
        await in_thread(client.quit)
        await env.wait_for("smtp", "message_rejected")
    assert not (tmp_path / "artifacts" / env.name / "smtp").exists()


async def test_commands_out_of_order_get_503(tmp_path: Path) -> None:
    """MAIL before HELO/EHLO and DATA before RCPT are answered 503."""
    async with deploy(tmp_path, "127.82.4.6", ("smtp",)) as env:
        client = await in_thread(
            lambda: smtplib.SMTP(env.ip, env.ports["smtp"], timeout=CLIENT_TIMEOUT_S)
        )
        assert (await in_thread(lambda: client.docmd("MAIL", "FROM:<a@b.example>")))[0] == 503
        await in_thread(lambda: client.ehlo("x"))
        assert (await in_thread(lambda: client.docmd("DATA")))[0] == 503
        await in_thread(client.quit)
