"""Bounty derivation from interaction records (SPEC §3 Bounty)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain.observations.bounty import Bounty, dedup_key, derive_bounties
from domain.observations.records import InteractionRecord

AT = datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC)


def record(
    fields: dict[str, str], *, service: str = "http", event_type: str = "request"
) -> InteractionRecord:
    """A record from 203.0.113.7 carrying `fields`."""
    return InteractionRecord(AT, "decky-01", service, event_type, "203.0.113.7", fields=fields)


def of_type(bounties: list[Bounty], bounty_type: str) -> list[Bounty]:
    """Only the bounties of one type."""
    return [b for b in bounties if b.bounty_type == bounty_type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"username": "root", "password": "toor"}, {"username": "root", "password": "toor"}),
        ({"user": "admin", "pass": "admin"}, {"username": "admin", "password": "admin"}),
        ({"login": "pi", "password": "raspberry"}, {"username": "pi", "password": "raspberry"}),
        ({"username": "root", "password": ""}, {"username": "root", "password": ""}),
    ],
)
def test_credential_from_any_username_and_password_key(
    fields: dict[str, str], expected: dict[str, str]
) -> None:
    """Any username key with any password key yields one credential (empty passwords too)."""
    bounties = derive_bounties(record(fields, service="ssh", event_type="auth_attempt"))
    assert of_type(bounties, "credential") == [Bounty("credential", dict(expected))]


@pytest.mark.parametrize("fields", [{"username": "root"}, {"password": "x"}, {"user": ""}])
def test_no_credential_without_both_parts(fields: dict[str, str]) -> None:
    """A username alone or a password alone is not a credential."""
    assert of_type(derive_bounties(record(fields, service="ssh")), "credential") == []


def test_user_agent_field_gives_http_fingerprint() -> None:
    """A user_agent field yields an http_useragent fingerprint with method and path."""
    fields = {"user_agent": "curl/8.5.0", "method": "GET", "path": "/admin"}
    assert derive_bounties(record(fields)) == [
        Bounty(
            "fingerprint",
            {
                "fingerprint_type": "http_useragent",
                "value": "curl/8.5.0",
                "method": "GET",
                "path": "/admin",
            },
        )
    ]


def test_user_agent_read_from_headers_case_insensitively() -> None:
    """The User-Agent inside a headers JSON object is found whatever the header's case."""
    headers = json.dumps({"Host": "x", "uSeR-aGeNt": "sqlmap/1.8"})
    [bounty] = derive_bounties(record({"headers": headers, "method": "POST"}))
    assert bounty.payload["value"] == "sqlmap/1.8"
    assert bounty.payload["path"] is None


@pytest.mark.parametrize(
    "headers", ["not json", "[1, 2]", '{"User-Agent": 5}', '{"a":' * 100_000, '{"Host": "x"}']
)
def test_unusable_headers_yield_no_fingerprint(headers: str) -> None:
    """Malformed, non-object, non-string or hostile headers are ignored, never raised."""
    assert derive_bounties(record({"headers": headers})) == []


def test_ssh_client_banner_on_ssh_service() -> None:
    """An SSH client version on the ssh service is an ssh_client fingerprint."""
    fields = {"client_version": "SSH-2.0-libssh_0.9.6\r\n"}
    assert derive_bounties(record(fields, service="ssh", event_type="connect")) == [
        Bounty("fingerprint", {"fingerprint_type": "ssh_client", "value": "SSH-2.0-libssh_0.9.6"})
    ]


def test_banner_on_other_services_is_not_an_ssh_client() -> None:
    """An ftp `banner` field is the server's greeting, not an attacker fingerprint."""
    assert derive_bounties(record({"banner": "220 ProFTPD"}, service="ftp")) == []


def test_sniffer_ssh_client_banner_event_counts_on_any_service() -> None:
    """The sniffer's ssh_client_banner event yields the fingerprint whatever its service."""
    rec = record({"banner": "SSH-2.0-Go"}, service="sniffer", event_type="ssh_client_banner")
    [bounty] = derive_bounties(rec)
    assert bounty.payload == {"fingerprint_type": "ssh_client", "value": "SSH-2.0-Go"}


def test_tcp_syn_fingerprint_has_typed_numbers() -> None:
    """TTL, window and MSS become ints; unparsable values are kept as text."""
    fields = {"os_guess": "linux", "ttl": "57", "window": "64240", "mss": "?", "options": "M,S,T"}
    rec = record(fields, service="sniffer", event_type="tcp_syn_fingerprint")
    assert derive_bounties(rec) == [
        Bounty(
            "fingerprint",
            {
                "fingerprint_type": "tcp_syn",
                "os_guess": "linux",
                "ttl": 57,
                "window": 64240,
                "mss": "?",
                "options": "M,S,T",
            },
        )
    ]


def test_ja3_includes_optional_keys_only_when_present() -> None:
    """A ClientHello yields ja3 plus only the optional keys that were observed."""
    fields = {"ja3": "771,4865-4866,0-23,29,0", "sni": "decky.local"}
    rec = record(fields, service="sniffer", event_type="tls_client_hello")
    [bounty] = derive_bounties(rec)
    assert bounty.payload == {
        "fingerprint_type": "ja3",
        "ja3": "771,4865-4866,0-23,29,0",
        "sni": "decky.local",
    }


def test_client_hello_without_any_hash_yields_nothing() -> None:
    """A ClientHello record with no ja3/ja3_hash/ja4 has nothing to store."""
    rec = record({"sni": "x"}, service="sniffer", event_type="tls_client_hello")
    assert derive_bounties(rec) == []


def test_file_captured_is_an_artifact() -> None:
    """A captured file yields an artifact whose size is an int."""
    fields = {
        "stored_as": "2026-04-18T02:22:56Z_0123456789ab_x.sh",
        "sha256": "ab" * 32,
        "size": "2048",
        "orig_path": "/tmp/x.sh",
    }
    rec = record(fields, service="ssh", event_type="file_captured")
    assert derive_bounties(rec) == [Bounty("artifact", {**fields, "size": 2048})]


def test_one_record_yields_several_bounties_in_fixed_order() -> None:
    """Credential first, then fingerprints: a login form post with a User-Agent gives both."""
    fields = {"username": "a", "password": "b", "user_agent": "hydra"}
    kinds = [b.bounty_type for b in derive_bounties(record(fields))]
    assert kinds == ["credential", "fingerprint"]


def test_dedup_key_ignores_payload_key_order() -> None:
    """The same payload with keys in another order has the same key."""
    first = dedup_key("credential", "203.0.113.7", {"username": "a", "password": "b"})
    second = dedup_key("credential", "203.0.113.7", {"password": "b", "username": "a"})
    assert first == second
    assert len(first) == 64


@pytest.mark.parametrize(
    ("bounty_type", "ip", "payload"),
    [
        ("fingerprint", "203.0.113.7", {"username": "a", "password": "b"}),
        ("credential", "203.0.113.8", {"username": "a", "password": "b"}),
        ("credential", None, {"username": "a", "password": "b"}),
        ("credential", "203.0.113.7", {"username": "a", "password": "c"}),
    ],
)
def test_dedup_key_differs_by_type_ip_and_payload(
    bounty_type: str, ip: str | None, payload: dict[str, str | int | None]
) -> None:
    """Changing the type, the IP or the payload changes the key."""
    base = dedup_key("credential", "203.0.113.7", {"username": "a", "password": "b"})
    assert dedup_key(bounty_type, ip, payload) != base


def test_dedup_key_survives_unpaired_surrogates() -> None:
    """Hostile text that cannot encode as UTF-8 still digests."""
    assert dedup_key("credential", None, {"username": "\udcff", "password": ""})
