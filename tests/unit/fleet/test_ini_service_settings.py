"""Per-service INI settings: known keys are checked, unknown ones are kept and reported."""

from __future__ import annotations

import pytest

from domain.fleet.errors import IniInvalidError
from domain.fleet.service_settings import KNOWN_KEYS
from tests.unit.fleet.builders import plan, refused, where

ALL = "ssh, telnet, ftp, smtp, http, https, redis, mysql, pop3"


def _with(service: str, key: str, value: str) -> str:
    return f"[web]\nservices = {ALL}\n[web.{service}]\n{key} = {value}\n"


@pytest.mark.parametrize(
    ("service", "key", "value", "reason"),
    [
        ("ssh", "port", "99999", "not configurable"),
        ("http", "port", "8080", "not configurable"),
        ("pop3", "port", "110", "not configurable"),
        ("http", "response_code", "700", "from 100 to 599"),
        ("https", "response_code", "abc", "from 100 to 599"),
        ("http", "response_code", "99", "from 100 to 599"),
        ("ssh", "password", "", "must not be empty"),
        ("redis", "password", "", "must not be empty"),
        ("ssh", "users", "bob", "entry 1 is not name:password"),
        ("ftp", "users", "alice:pw, bob:", "entry 2 is not name:password"),
        ("smtp", "users", " , ", "lists no name:password pairs"),
        ("telnet", "users", ":secret", "entry 1 is not name:password"),
        ("ssh", "hostname", "bad_host!", "not a valid hostname"),
        ("telnet", "hostname", "-lead.example", "not a valid hostname"),
        ("ssh", "banner", "SSH-1.99-OpenSSH_3.9", "must start with SSH-2.0-"),
        ("ssh", "version", "OpenSSH_9.6\tx", "printable ASCII"),
        ("ssh", "banner", "Ópen", "printable ASCII"),
        ("ftp", "banner", "x" * 201, "longer than 200"),
        ("smtp", "banner", "", "must not be empty"),
        ("mysql", "version", "", "must not be empty"),
        ("redis", "version", "7" * 65, "longer than 64"),
        ("https", "tls_cn", "my host", "whitespace"),
        ("https", "tls_cert", "cert.pem", "absolute path"),
        ("http", "server_header", "Apache\u2028x", "printable text"),
    ],
)
def test_bad_known_values_are_refused(service: str, key: str, value: str, reason: str) -> None:
    """A known key with a bad value is a 422 on `[web.<service>] <key>` with the reason."""
    error = refused(IniInvalidError, _with(service, key, value))
    assert where(error) == (f"web.{service}", key)
    assert reason in error.reason


def test_a_users_refusal_never_quotes_the_password() -> None:
    """The reason for a malformed `users` names the entry's position, not its text."""
    error = refused(IniInvalidError, _with("ssh", "users", "bob;hunter22"))
    assert "hunter22" not in str(error)


def test_tls_key_needs_tls_cert() -> None:
    """A private key without its certificate would be ignored by the emulator: refused."""
    error = refused(IniInvalidError, _with("https", "tls_key", "/etc/ssl/private/x.key"))
    assert where(error) == ("web.https", "tls_key")
    assert "needs tls_cert" in error.reason


@pytest.mark.parametrize(
    ("service", "key", "value"),
    [
        ("ssh", "password", "hunter22"),
        ("ssh", "users", "bob:builder1, root:*"),
        ("ssh", "banner", "SSH-2.0-OpenSSH_7.4"),
        ("ssh", "version", "OpenSSH_9.6p1 Debian-4"),
        ("ssh", "hostname", "db01.corp.example"),
        ("telnet", "password", "x"),
        ("ftp", "banner", "(vsFTPd 3.0.3)"),
        ("smtp", "users", "mail:mail"),
        ("http", "response_code", "404"),
        ("http", "server_header", ""),
        ("http", "body", "<h1>It works</h1>"),
        ("https", "tls_cn", "*.corp.example"),
        ("redis", "version", "6.2.6"),
        ("mysql", "version", "5.7.44-log"),
    ],
)
def test_good_known_values_are_kept_and_not_reported(service: str, key: str, value: str) -> None:
    """A valid known setting reaches service_config and is not listed as ignored."""
    result = plan(_with(service, key, value))
    assert result.deckies[0].service_config == {service: {key: value}}
    assert result.ignored == ()


def test_unknown_keys_are_kept_and_reported_as_ignored() -> None:
    """Keys no emulator reads stay in service_config and are listed as `[section] key`."""
    text = (
        "[web]\nservices = ssh, http, pop3\n"
        "[web.ssh]\npassword = x\ncolour = blue\n"
        "[web.http]\ntls_cn = intranet\n"  # a TLS name means nothing to plain http
        "[web.pop3]\nbanner = +OK ready\n"  # pop3 has no emulator reading settings
    )
    result = plan(text)
    assert result.ignored == ("[web.ssh] colour", "[web.http] tls_cn", "[web.pop3] banner")
    assert result.deckies[0].service_config["ssh"] == {"password": "x", "colour": "blue"}


def test_every_known_key_belongs_to_a_catalogue_service() -> None:
    """The table of honoured keys only names services the catalogue has."""
    from domain.fleet.catalogue import SERVICES

    assert set(KNOWN_KEYS) <= set(SERVICES)


@pytest.mark.parametrize(
    "section", ["../../etc", "./x", "web..ssh", "web.ssh.extra", "Web.ssh", "web."]
)
def test_a_bad_section_name_is_named(section: str) -> None:
    """A dotted section that is not `<decky>.<service>` is refused naming that section."""
    for text in (f"[{section}]\nkey = v\n", f"[web]\nservices = ssh\n[{section}]\nkey = v\n"):
        error = refused(IniInvalidError, text)
        assert where(error) == (section, None)
        assert f"section name {section!r}" in error.reason
        assert "no decky sections" not in error.reason
