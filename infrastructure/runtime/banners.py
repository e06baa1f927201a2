"""Per-service default ports and the banners the local runtime answers with.

A stop-gap until `domain/fleet/catalogue.py` and the full emulators land: each profile holds just
enough bytes for a scanner (nmap -sV, a real client) to see a plausible service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Transport = Literal["tcp", "udp"]

# A TLS "handshake_failure" alert: what a TLS server answers to a ClientHello it will not serve.
_TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x28"


def _mysql_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def mysql_greeting(version: str) -> bytes:
    """A MySQL protocol-10 handshake packet advertising `version`."""
    salt = b"Zq3#x!9a" + b"kP0$wR7m^2Lt"
    payload = (
        b"\x0a"
        + version.encode()
        + b"\x00"
        + (42).to_bytes(4, "little")
        + salt[:8]
        + b"\x00"
        + b"\xff\xf7"  # capability flags (lower)
        + b"\x21"  # utf8_general_ci
        + b"\x02\x00"  # SERVER_STATUS_AUTOCOMMIT
        + b"\xff\x81"  # capability flags (upper)
        + b"\x15"
        + b"\x00" * 10
        + salt[8:]
        + b"\x00"
        + b"mysql_native_password\x00"
    )
    return _mysql_packet(0, payload)


_MYSQL_DENIED = _mysql_packet(2, b"\xff\x15\x04#28000Access denied for user")
_PG_FIELDS = b"SFATAL\x00C28P01\x00Mpassword authentication failed for user\x00\x00"
_PG_AUTH_FAILED = b"E" + (4 + len(_PG_FIELDS)).to_bytes(4, "big") + _PG_FIELDS


@dataclass(frozen=True, slots=True)
class BannerProfile:
    """How a banner-only service looks: its port, what it says first, what it answers."""

    port: int
    transport: Transport = "tcp"
    greeting: bytes = b""  # sent on accept; empty when the client speaks first
    reply: bytes = b""  # sent after each chunk the client sends
    close_after_reply: bool = False
    http_server: str | None = None  # set: answer each request as HTTP/1.1 with this Server
    http_status: int = 200
    http_body: str = ""
    http_content_type: str = "text/html; charset=utf-8"


_HTML = (
    "<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"
)

PROFILES: Mapping[str, BannerProfile] = {
    "ssh": BannerProfile(22, greeting=b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n"),
    "telnet": BannerProfile(
        23,
        greeting=b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27\r\n{hostname} login: ",
        reply=b"\r\nLogin incorrect\r\n{hostname} login: ",
    ),
    "ftp": BannerProfile(
        21, greeting=b"220 (vsFTPd 3.0.5)\r\n", reply=b"530 Please login with USER and PASS.\r\n"
    ),
    "smtp": BannerProfile(
        25,
        greeting=b"220 {hostname} ESMTP Postfix (Ubuntu)\r\n",
        reply=b"502 5.5.2 Error: command not recognized\r\n",
    ),
    "pop3": BannerProfile(
        110, greeting=b"+OK Dovecot (Ubuntu) ready.\r\n", reply=b"-ERR Unknown command.\r\n"
    ),
    "imap": BannerProfile(
        143,
        greeting=b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
        b"STARTTLS AUTH=PLAIN] Dovecot (Ubuntu) ready.\r\n",
        reply=b"* BAD Error in IMAP command received by server.\r\n",
    ),
    "mysql": BannerProfile(
        3306, greeting=mysql_greeting("8.0.36-0ubuntu0.22.04.1"), reply=_MYSQL_DENIED
    ),
    "vnc": BannerProfile(5900, greeting=b"RFB 003.008\n"),
    "http": BannerProfile(80, http_server="Apache/2.4.52 (Ubuntu)", http_body=_HTML),
    "https": BannerProfile(443, reply=_TLS_ALERT, close_after_reply=True),
    "k8s": BannerProfile(6443, reply=_TLS_ALERT, close_after_reply=True),
    "docker_api": BannerProfile(
        2375,
        http_server="Docker/24.0.7 (linux)",
        http_status=404,
        http_body='{"message":"page not found"}\n',
        http_content_type="application/json",
    ),
    "elasticsearch": BannerProfile(
        9200,
        http_server="",
        http_status=401,
        http_body='{"error":"security_exception","status":401}\n',
        http_content_type="application/json",
    ),
    "redis": BannerProfile(6379, reply=b"-NOAUTH Authentication required.\r\n"),
    "postgres": BannerProfile(5432, reply=_PG_AUTH_FAILED, close_after_reply=True),
    # X.224 Connection Confirm selecting TLS: what Windows answers to an RDP connection request.
    "rdp": BannerProfile(
        3389, reply=b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00"
    ),
    "mqtt": BannerProfile(1883, reply=b"\x20\x02\x00\x05", close_after_reply=True),
    "smb": BannerProfile(445, close_after_reply=True),
    "ldap": BannerProfile(389),
    "mssql": BannerProfile(1433, close_after_reply=True),
    "mongodb": BannerProfile(27017),
    "snmp": BannerProfile(161, transport="udp"),
    "sip": BannerProfile(5060, transport="udp"),
    "llmnr": BannerProfile(5355, transport="udp"),
    "ntp": BannerProfile(123, transport="udp"),
    "tftp": BannerProfile(69, transport="udp"),
}

# Unknown services still get a listener (on a free port) that records what it receives.
GENERIC = BannerProfile(0)

_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Error"}


def profile_for(service: str) -> BannerProfile:
    """The banner profile of `service` (a silent recorder for unknown ones)."""
    return PROFILES.get(service, GENERIC)


def standard_port(service: str) -> int:
    """The port the service normally listens on (0 when unknown)."""
    return profile_for(service).port


def render(template: bytes, hostname: str) -> bytes:
    """Fill the `{hostname}` placeholder of a banner template."""
    return template.replace(b"{hostname}", hostname.encode())


def greeting_for(service: str, config: Mapping[str, str], hostname: str) -> bytes:
    """What the service says on accept, honouring a configured `banner`/`version`."""
    profile = profile_for(service)
    custom = config.get("banner") or config.get("version")
    if custom and service == "ssh":
        ident = custom if custom.startswith("SSH-") else f"SSH-2.0-{custom}"
        return f"{ident}\r\n".encode()
    if custom and service == "mysql":
        return mysql_greeting(custom)
    if custom and service in {"ftp", "smtp"}:
        return f"220 {custom}\r\n".encode()
    return render(profile.greeting, hostname)


def _status_code(configured: str | None, default: int) -> int:
    # A bad configured code must not break every request: fall back to the profile's.
    if configured and configured.isdigit() and 100 <= int(configured) <= 599:
        return int(configured)
    return default


def http_response(service: str, config: Mapping[str, str]) -> bytes:
    """A complete HTTP/1.1 response, honouring `server_header`, `response_code` and `body`."""
    profile = profile_for(service)
    server = config.get("server_header", profile.http_server or "")
    code = _status_code(config.get("response_code"), profile.http_status)
    body = config.get("body", profile.http_body).encode()
    lines = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Unknown')}"]
    if server:
        lines.append(f"Server: {server}")
    lines += [
        f"Content-Type: {profile.http_content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
