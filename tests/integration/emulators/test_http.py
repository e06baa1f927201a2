"""The HTTP/HTTPS emulator against real clients: httpx, http.client and raw sockets."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from domain.attackers.profile import AttackerBehavior
from domain.observations.bounty import derive_bounties
from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy, in_thread

pytestmark = pytest.mark.anyio

NIKTO_UA = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)"
SQLMAP_UA = "sqlmap/1.8.4#stable (https://sqlmap.org)"


def base_url(env: Deployed, service: str = "http") -> str:
    """The decky's URL for `service`."""
    scheme = "https" if service == "https" else "http"
    return f"{scheme}://{env.ip}:{env.ports[service]}"


async def test_scanner_request_is_recorded_with_headers_and_tool_guess(tmp_path: Path) -> None:
    """A Nikto GET gets the login page; its record carries headers JSON, UA and a tool guess."""
    async with deploy(tmp_path, "127.82.2.1", ("http",)) as env, httpx.AsyncClient() as client:
        response = await client.get(
            base_url(env) + "/?probe=1", headers={"User-Agent": NIKTO_UA}, timeout=5
        )
        assert response.status_code == 200
        assert response.headers["server"] == "Apache/2.4.52 (Ubuntu)"
        assert 'name="password"' in response.text
        record = await env.wait_for("http", "request", path="/")
    assert (record.fields["method"], record.fields["query"]) == ("GET", "probe=1")
    assert record.fields["user_agent"] == NIKTO_UA
    assert json.loads(record.fields["headers"])["User-Agent"] == NIKTO_UA
    fingerprint = next(b for b in derive_bounties(record) if b.bounty_type == "fingerprint")
    assert fingerprint.payload["value"] == NIKTO_UA
    behavior = AttackerBehavior()
    for observed in env.sink.records:
        behavior.observe(observed)
    assert behavior.behavior()["tool_guesses"] == ["nikto"]


async def test_keep_alive_serves_several_requests_on_one_connection(tmp_path: Path) -> None:
    """http.client reuses one connection for several requests (sqlmap-style probes)."""

    def probe(env: Deployed) -> list[int]:
        conn = http.client.HTTPConnection(env.ip, env.ports["http"], timeout=CLIENT_TIMEOUT_S)
        statuses = []
        for target in ("/index.php?id=1", "/index.php?id=1%27", "/login"):
            conn.request("GET", target, headers={"User-Agent": SQLMAP_UA})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()
        return statuses

    async with deploy(tmp_path, "127.82.2.2", ("http",)) as env:
        assert await in_thread(lambda: probe(env)) == [404, 404, 200]
        await env.wait_for("http", "request", path="/login")
        await env.wait_for("http", "disconnect")
        assert len(env.records("http", "connect")) == 1
        queries = [r.fields["query"] for r in env.records("http", "request")]
    assert queries == ["id=1", "id=1%27", ""]


async def test_posted_login_form_is_captured_as_a_credential(tmp_path: Path) -> None:
    """Form-urlencoded and JSON logins yield username/password fields and a credential bounty."""
    async with deploy(tmp_path, "127.82.2.3", ("http",)) as env, httpx.AsyncClient() as client:
        form = await client.post(
            base_url(env) + "/login", data={"username": "admin", "password": "admin123"}, timeout=5
        )
        assert form.status_code == 200
        assert "Invalid username or password" in form.text
        await client.post(base_url(env) + "/", json={"user": "root", "pass": "hunter2"}, timeout=5)
        form_record = await env.wait_for("http", "request", username="admin")
        json_record = await env.wait_for("http", "request", username="root")
    assert (form_record.fields["password"], form_record.fields["auth_method"]) == (
        "admin123",
        "form",
    )
    assert json_record.fields["password"] == "hunter2"
    credential = next(b for b in derive_bounties(form_record) if b.bounty_type == "credential")
    assert credential.payload == {"username": "admin", "password": "admin123"}


async def test_basic_auth_is_challenged_and_captured(tmp_path: Path) -> None:
    """/admin answers 401 with a Basic challenge; sent Basic credentials are recorded."""
    async with deploy(tmp_path, "127.82.2.4", ("http",)) as env, httpx.AsyncClient() as client:
        bare = await client.get(base_url(env) + "/admin/", timeout=5)
        assert bare.status_code == 401
        assert bare.headers["www-authenticate"].startswith("Basic realm=")
        tried = await client.get(base_url(env) + "/admin/", auth=("tomcat", "s3cret"), timeout=5)
        assert tried.status_code == 401
        record = await env.wait_for("http", "request", username="tomcat")
    assert (record.fields["password"], record.fields["auth_method"]) == ("s3cret", "basic")
    assert record.fields["status"] == "401"


async def test_configured_server_header_code_and_body_are_served(tmp_path: Path) -> None:
    """server_header, response_code and body from the INI answer unknown paths."""
    config = {"http": {"server_header": "Microsoft-IIS/10.0", "response_code": "403", "body": "no"}}
    async with (
        deploy(tmp_path, "127.82.2.5", ("http",), config) as env,
        httpx.AsyncClient() as client,
    ):
        response = await client.get(base_url(env) + "/wp-login.php", timeout=5)
    assert (response.status_code, response.text) == (403, "no")
    assert response.headers["server"] == "Microsoft-IIS/10.0"


async def test_large_body_is_capped_and_the_connection_closed(tmp_path: Path) -> None:
    """A body past the cap is counted, excerpted, and the connection is not kept alive."""
    async with deploy(tmp_path, "127.82.2.6", ("http",)) as env, httpx.AsyncClient() as client:
        response = await client.post(base_url(env) + "/upload", content=b"A" * 200_000, timeout=5)
        assert response.headers["connection"] == "close"
        record = await env.wait_for("http", "request", path="/upload")
    assert record.fields["body_size"] == "200000"
    assert record.fields["body"].startswith("AAAA")
    assert len(record.fields["body"]) < 1024


async def test_garbage_gets_400_and_a_bad_request_record(tmp_path: Path) -> None:
    """A non-HTTP line is answered 400 and recorded as bad_request."""
    async with deploy(tmp_path, "127.82.2.7", ("http",)) as env:
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            stream = await anyio.connect_tcp(env.ip, env.ports["http"])
            await stream.send(b"\x16\x03\x01 not http at all\r\n\r\n")
            reply = await stream.receive()
            await stream.aclose()
        assert reply.startswith(b"HTTP/1.1 400 Bad Request")
        await env.wait_for("http", "bad_request")


async def test_https_serves_a_cached_self_signed_certificate(tmp_path: Path) -> None:
    """https completes TLS with a self-signed cert (CN from tls_cn), cached and reused."""
    config = {"https": {"tls_cn": "intranet.corp.local"}}

    def server_cert(env: Deployed) -> x509.Certificate:
        pem = ssl.get_server_certificate((env.ip, env.ports["https"]), timeout=CLIENT_TIMEOUT_S)
        return x509.load_pem_x509_certificate(pem.encode())

    async with deploy(tmp_path, "127.82.2.8", ("https",), config) as env:
        async with httpx.AsyncClient(verify=False) as client:  # noqa: S501 - self-signed on purpose
            response = await client.get(base_url(env, "https") + "/login", timeout=5)
        assert response.status_code == 200
        assert response.headers["server"] == "nginx/1.18.0 (Ubuntu)"
        record = await env.wait_for("https", "request", path="/login")
        first = await in_thread(lambda: server_cert(env))
    assert record.fields["tls_version"].startswith("TLSv1")
    subject = first.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert (subject, first.issuer) == ("intranet.corp.local", first.subject)
    async with deploy(tmp_path, "127.82.2.8", ("https",), config) as env:
        again = await in_thread(lambda: server_cert(env))
    assert again == first  # the cached certificate, not a fresh one


async def test_plain_http_on_the_tls_port_is_recorded_as_tls_error(tmp_path: Path) -> None:
    """A plaintext request to https fails the handshake and leaves a tls_error record."""
    async with deploy(tmp_path, "127.82.2.9", ("https",)) as env:
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            stream = await anyio.connect_tcp(env.ip, env.ports["https"])
            await stream.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await env.wait_for("https", "tls_error")
            await stream.aclose()


async def test_chunked_login_and_odd_targets_are_recorded_as_sent(tmp_path: Path) -> None:
    """A chunked form POST is decoded for credentials; `//etc/passwd` is kept verbatim."""

    def chunked_login(env: Deployed) -> int:
        conn = http.client.HTTPConnection(env.ip, env.ports["http"], timeout=CLIENT_TIMEOUT_S)
        body = iter([b"username=ops&", b"password=pa%24%24word"])
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/login", body=body, headers=headers, encode_chunked=True)
        status = conn.getresponse().status
        conn.close()
        return status

    async with deploy(tmp_path, "127.82.2.10", ("http",)) as env:
        assert await in_thread(lambda: chunked_login(env)) == 200
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            stream = await anyio.connect_tcp(env.ip, env.ports["http"])
            await stream.send(b"GET //etc/passwd?x=1 HTTP/1.0\r\n\r\n")
            reply = await stream.receive()
            await stream.aclose()
        login = await env.wait_for("http", "request", username="ops")
        probe = await env.wait_for("http", "request", path="//etc/passwd")
    assert login.fields["password"] == "pa$$word"
    assert probe.fields["query"] == "x=1"
    assert b"Connection: close" in reply
