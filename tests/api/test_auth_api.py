"""Black-box tests of `/auth/*`, token checks and request ids against a real `decnet serve`."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest

from tests.api.harness import (
    API_PREFIX,
    JWT_SECRET,
    Account,
    ApiClient,
    DecnetServer,
    fresh_source_ip,
    unique_name,
)


def claims_for(me: dict[str, object], **overrides: object) -> dict[str, object]:
    """Valid-looking token claims for a user, with some replaced."""
    now = time.time()
    claims: dict[str, object] = {
        "sub": me["username"],
        "uuid": me["uuid"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, object], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


# --- login ---------------------------------------------------------------------------------------


def test_login_returns_a_bearer_token(api: ApiClient, make_user: Callable[..., Account]) -> None:
    """Login answers exactly access_token, token_type bearer and must_change_password."""
    user = make_user("viewer")
    response = api.login(user.username, user.password)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "must_change_password"}
    assert body["token_type"] == "bearer"
    assert body["must_change_password"] is False
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["uuid"]) == (user.username, user.uuid)
    assert {"iat", "exp", "jti"} <= set(claims)


def test_login_reports_a_pending_password_change(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A user created by an admin logs in with must_change_password true."""
    user = make_user("viewer", must_change=True)
    assert api.login(user.username, user.password).json()["must_change_password"] is True


def test_login_answers_unknown_user_and_wrong_password_alike(
    stranger: ApiClient, make_user: Callable[..., Account]
) -> None:
    """Unknown user and wrong password give the same 401 body with a Bearer challenge."""
    user = make_user("viewer")
    unknown = stranger.login(unique_name("ghost"), "whatever-pw")
    wrong = stranger.login(user.username, user.password + "x")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.headers["www-authenticate"] == wrong.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"username": "admin", "password": ', id="malformed-json"),
        pytest.param(b"not json at all", id="not-json"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b'["admin", "pw"]', id="array"),
        pytest.param(b'{"username": 1, "password": "pw-pw-pw-pw"}', id="username-int"),
        pytest.param(b'{"username": "admin", "password": null}', id="password-null"),
        pytest.param(b'{"username": "admin"}', id="missing-password"),
        pytest.param(b'{"username": "admin", "password": "x", "otp": "1"}', id="unknown-field"),
    ],
)
def test_login_rejects_bad_bodies(stranger: ApiClient, body: bytes) -> None:
    """A login body that is not the documented JSON object is a 400."""
    response = stranger.post(
        "/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_failures_for_a_username_never_lock_out_its_owner(
    server: DecnetServer, make_user: Callable[..., Account]
) -> None:
    """Ten failures for one username from ten IPs: its right password from a fresh IP is 200
    (slowed down, not refused)."""
    user = make_user("viewer")
    for _ in range(10):
        with server.client(source_ip=fresh_source_ip()) as client:
            assert client.login(user.username, "wrong-password").status_code == 401
    with server.client(source_ip=fresh_source_ip()) as client:
        started = time.monotonic()
        assert client.login(user.username, user.password).status_code == 200
        assert time.monotonic() - started >= 1.0  # the progressive delay (docs/security.md)


def test_a_concurrent_burst_gets_at_most_ten_verifications(
    server: DecnetServer, make_user: Callable[..., Account]
) -> None:
    """Sixty simultaneous guesses from one IP for one user: at most ten answered 401 or 200,
    the rest 429 with Retry-After (attempts in flight count)."""
    user = make_user("viewer")
    source = fresh_source_ip()
    passwords = ["wrong-password"] * 59 + [user.password]

    async def burst() -> list[httpx.Response]:
        transport = httpx.AsyncHTTPTransport(local_address=source)
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(
            base_url=server.base_url + API_PREFIX, transport=transport, limits=limits, timeout=30
        ) as client:
            return await asyncio.gather(
                *(
                    client.post("/auth/login", json={"username": user.username, "password": p})
                    for p in passwords
                )
            )

    codes = [r.status_code for r in asyncio.run(burst())]
    assert set(codes) <= {200, 401, 429}, codes
    assert codes.count(200) + codes.count(401) <= 10, codes
    assert codes.count(429) >= 50, codes


def test_login_throttles_a_client_ip_after_ten_failures(
    api: ApiClient, stranger: ApiClient, make_user: Callable[..., Account]
) -> None:
    """Ten failures from one IP (any usernames) refuse its next login; other IPs still log in."""
    user = make_user("viewer")
    for _ in range(10):
        assert stranger.login(unique_name("ghost"), "wrong-password").status_code == 401
    throttled = stranger.login(user.username, user.password)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert api.login(user.username, user.password).status_code == 200


# --- must change password ------------------------------------------------------------------------


def test_pending_password_change_blocks_other_routes(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """Until the password is changed, /config answers 403 while /auth/me works."""
    user = make_user("admin", must_change=True)
    refused = api.get("/config", user.token)
    assert refused.status_code == 403
    assert "password change" in refused.json()["detail"].lower()
    me = api.get("/auth/me", user.token)
    assert me.status_code == 200
    assert me.json()["must_change_password"] is True


# --- change password -----------------------------------------------------------------------------


def test_change_password_clears_the_pending_change(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """After changing it, the new password logs in without must_change and routes open."""
    user = make_user("viewer", must_change=True)
    response = api.change_password(user.token, user.password, "brand-new-pw-1")
    assert response.status_code == 200
    assert response.json() == {"message": "Password updated successfully"}
    login = api.login(user.username, "brand-new-pw-1")
    assert login.json()["must_change_password"] is False
    token = login.json()["access_token"]
    assert api.get("/auth/me", token).json()["must_change_password"] is False
    assert api.get("/config", token).status_code == 200


def test_change_password_ends_every_earlier_token(
    api: ApiClient, stranger: ApiClient, make_user: Callable[..., Account]
) -> None:
    """Tokens issued before the change answer 401; the old password no longer logs in."""
    user = make_user("viewer")
    second = api.token(user.username, user.password)
    assert api.change_password(user.token, user.password, "rotated-pw-01").status_code == 200
    for token in (user.token, second):
        assert api.get("/auth/me", token).status_code == 401
    assert stranger.login(user.username, user.password).status_code == 401
    assert api.get("/auth/me", api.token(user.username, "rotated-pw-01")).status_code == 200


def test_change_password_with_wrong_old_password_is_401(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A wrong old password is a 401 and changes nothing."""
    user = make_user("viewer")
    response = api.change_password(user.token, "not-my-password", "another-pw-01")
    assert response.status_code == 401
    assert api.get("/auth/me", user.token).status_code == 200
    assert api.login(user.username, user.password).status_code == 200


@pytest.mark.parametrize("new", ["short77", "x" * 129], ids=["7-chars", "129-chars"])
def test_change_password_rejects_a_bad_length(
    api: ApiClient, make_user: Callable[..., Account], new: str
) -> None:
    """A new password outside 8..128 characters is a 422 and changes nothing."""
    user = make_user("viewer")
    assert api.change_password(user.token, user.password, new).status_code == 422
    assert api.login(user.username, user.password).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"old_password": "whatever-pw"},
        {"old_password": "whatever-pw", "new_password": 12345678},
        {"old_password": "a", "new_password": "bbbbbbbbb", "confirm": "bbbbbbbbb"},
    ],
    ids=["missing-new", "new-int", "unknown-field"],
)
def test_change_password_rejects_bad_bodies(
    api: ApiClient, make_user: Callable[..., Account], body: dict[str, object]
) -> None:
    """A change-password body that breaks the schema is a 400."""
    user = make_user("viewer")
    assert api.post("/auth/change-password", user.token, json=body).status_code == 400


# --- me and logout -------------------------------------------------------------------------------


def test_me_describes_the_caller(api: ApiClient, make_user: Callable[..., Account]) -> None:
    """/auth/me answers exactly uuid, username, role and must_change_password."""
    user = make_user("admin")
    response = api.get("/auth/me", user.token)
    assert response.status_code == 200
    assert response.json() == {
        "uuid": user.uuid,
        "username": user.username,
        "role": "admin",
        "must_change_password": False,
    }


def test_logout_revokes_only_that_token(api: ApiClient, make_user: Callable[..., Account]) -> None:
    """Logout is a 204 with no body; that token is then 401, the user's other tokens still work."""
    user = make_user("viewer")
    other = api.token(user.username, user.password)
    response = api.post("/auth/logout", user.token)
    assert response.status_code == 204
    assert response.content == b""
    assert api.get("/auth/me", user.token).status_code == 401
    assert api.post("/auth/logout", user.token).status_code == 401
    assert api.get("/auth/me", other).status_code == 200


def test_logout_works_while_a_password_change_is_pending(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A must-change user may still log out."""
    user = make_user("viewer", must_change=True)
    assert api.post("/auth/logout", user.token).status_code == 204
    assert api.get("/auth/me", user.token).status_code == 401


# --- tokens --------------------------------------------------------------------------------------


def _tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _tamper_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    return f"{head}.{signature[::-1]}"


BAD_TOKENS: dict[str, Callable[[str, dict[str, object]], str]] = {
    "garbage": lambda _t, _me: "not-a-jwt",
    "tampered-signature": lambda token, _me: _tamper_signature(token),
    "tampered-payload": lambda token, _me: _tamper_payload(token),
    "other-secret": lambda _t, me: sign(claims_for(me), secret="another-secret-" + "y" * 32),
    "expired": lambda _t, me: sign(claims_for(me, iat=time.time() - 3600, exp=time.time() - 1800)),
    "missing-jti": lambda _t, me: sign(claims_for(me, jti=None)),
    "unknown-user": lambda _t, me: sign(claims_for(me, uuid=str(uuid.uuid4()))),
    "alg-none": lambda _t, me: jwt.encode(claims_for(me), key=None, algorithm="none"),
    # Signed with the right secret, but no token this server issues looks like these.
    "issued-in-the-future": lambda _t, me: sign(
        claims_for(me, iat=time.time() + 3600, exp=time.time() + 3600 + 600)
    ),
    "longer-than-the-ttl": lambda _t, me: sign(claims_for(me, exp=time.time() + 10 * 86400)),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401(api: ApiClient, make_user: Callable[..., Account], kind: str) -> None:
    """Garbage, tampered, foreign, expired, incomplete or unsigned tokens answer 401."""
    user = make_user("admin")
    me = api.get("/auth/me", user.token).json()
    token = BAD_TOKENS[kind](user.token, me)
    response = api.get("/auth/me", token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_crafted_token_with_the_known_secret_is_accepted(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A token signed with the known secret and valid claims works (so the 401s above mean it)."""
    user = make_user("viewer")
    me = api.get("/auth/me", user.token).json()
    assert api.get("/auth/me", sign(claims_for(me))).status_code == 200


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "bearer", "Basic YWRtaW46YWRtaW4=", "Token abc"]
)
def test_requests_without_a_bearer_token_are_401(api: ApiClient, authorization: str) -> None:
    """No usable bearer token is a 401 with the Bearer challenge."""
    response = api.get("/auth/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# --- request ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "authorised", "status"),
    [
        ("GET", "/auth/me", True, 200),
        ("GET", "/auth/me", False, 401),
        ("PUT", "/config/deployment-limit", True, 400),
        ("GET", "/no-such-route", True, 404),
        ("POST", "/auth/login", False, 400),
    ],
)
def test_request_id_is_echoed(
    api: ApiClient, admin_token: str, method: str, path: str, authorised: bool, status: int
) -> None:
    """A client's X-Request-ID comes back unchanged, on errors too."""
    request_id = f"req-{uuid.uuid4().hex}"
    response = api.request(
        method,
        path,
        admin_token if authorised else None,
        headers={"X-Request-ID": request_id},
        content=b"{}" if method != "GET" else None,
    )
    assert response.status_code == status
    assert response.headers["x-request-id"] == request_id


def test_request_id_is_generated_per_request(api: ApiClient) -> None:
    """Without one from the client, each response carries a fresh X-Request-ID."""
    first = api.get("/auth/me").headers["x-request-id"]
    second = api.get("/auth/me").headers["x-request-id"]
    assert first
    assert first != second
