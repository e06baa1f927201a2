"""Black-box tests of `/config/*` (settings and users) and of persistence across restarts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest

from tests.api.conftest import activate_admin
from tests.api.harness import (
    BOOTSTRAP_ADMIN,
    Account,
    ApiClient,
    DecnetServer,
    make_account,
    postgres_processes,
    unique_name,
)

USER_KEYS = {"uuid", "username", "role", "must_change_password"}
# Ids of the other identity aggregates (derived from public names, so anyone can send them).
SETTINGS_STREAM_ID = uuid5(NAMESPACE_URL, "https://decnet-es/settings")
ADMIN_CLAIM_ID = uuid5(uuid5(NAMESPACE_URL, "https://decnet-es/usernames"), BOOTSTRAP_ADMIN)


def admin_uuid(api: ApiClient, admin_token: str) -> str:
    uuid_: str = api.get("/auth/me", admin_token).json()["uuid"]
    return uuid_


def listed_users(api: ApiClient, admin_token: str) -> dict[str, dict[str, Any]]:
    """The users GET /config shows an admin, by uuid."""
    return {u["uuid"]: u for u in api.get("/config", admin_token).json()["users"]}


# --- GET /config ---------------------------------------------------------------------------------


def test_viewer_sees_settings_without_users(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A viewer gets exactly role, deployment_limit and global_mutation_interval."""
    viewer = make_user("viewer")
    response = api.get("/config", viewer.token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"role", "deployment_limit", "global_mutation_interval"}
    assert body["role"] == "viewer"
    assert isinstance(body["deployment_limit"], int)
    assert isinstance(body["global_mutation_interval"], str)


def test_admin_also_sees_users_but_no_developer_flag(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """An admin also gets users (no hashes); developer_mode is absent outside developer mode."""
    viewer = make_user("viewer")
    body = api.get("/config", admin_token).json()
    assert set(body) == {"role", "deployment_limit", "global_mutation_interval", "users"}
    assert body["role"] == "admin"
    assert all(set(u) == USER_KEYS for u in body["users"])
    by_name = {u["username"]: u for u in body["users"]}
    assert by_name[BOOTSTRAP_ADMIN]["role"] == "admin"
    assert by_name[BOOTSTRAP_ADMIN]["must_change_password"] is False
    assert by_name[viewer.username] == {
        "uuid": viewer.uuid,
        "username": viewer.username,
        "role": "viewer",
        "must_change_password": False,
    }


def test_developer_mode_is_shown_to_admins_only(dev_server: DecnetServer) -> None:
    """In developer mode an admin's /config has developer_mode true; a viewer's does not."""
    admin_token = activate_admin(dev_server)
    with dev_server.client() as api:
        viewer = make_account(api, admin_token, "viewer")
        assert api.get("/config", admin_token).json()["developer_mode"] is True
        assert "developer_mode" not in api.get("/config", viewer.token).json()


def test_defaults_on_a_fresh_server(dev_server: DecnetServer) -> None:
    """Before any change the deployment limit is 10 and the global interval 30m."""
    admin_token = activate_admin(dev_server)
    with dev_server.client() as api:
        body = api.get("/config", admin_token).json()
    assert (body["deployment_limit"], body["global_mutation_interval"]) == (10, "30m")


# --- PUT /config/deployment-limit ---------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 500, 37])
def test_deployment_limit_is_set_and_visible(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account], limit: int
) -> None:
    """A limit in 1..500 answers 200 and GET /config shows it, to viewers too."""
    response = api.set_limit(admin_token, limit)
    assert response.status_code == 200
    assert response.json() == {"message": "Deployment limit updated"}
    assert api.get("/config", admin_token).json()["deployment_limit"] == limit
    assert api.get("/config", make_user("viewer").token).json()["deployment_limit"] == limit


@pytest.mark.parametrize("limit", [0, 501, -1, 10**6])
def test_deployment_limit_out_of_range_is_422(api: ApiClient, admin_token: str, limit: int) -> None:
    """A limit outside 1..500 answers 422 and leaves the setting alone."""
    before = api.get("/config", admin_token).json()["deployment_limit"]
    response = api.set_limit(admin_token, limit)
    assert response.status_code == 422
    assert api.get("/config", admin_token).json()["deployment_limit"] == before


@pytest.mark.parametrize(
    "body",
    [
        {"deployment_limit": "20"},
        {"deployment_limit": 20.5},
        {"deployment_limit": True},
        {"deployment_limit": None},
        {},
        {"deployment_limit": 20, "force": True},
    ],
    ids=["string", "float", "bool", "null", "missing", "unknown-field"],
)
def test_deployment_limit_bad_body_is_400(
    api: ApiClient, admin_token: str, body: dict[str, object]
) -> None:
    """A wrong JSON type, a missing or an unknown field is a 400."""
    response = api.put("/config/deployment-limit", admin_token, json=body)
    assert response.status_code == 400


# --- PUT /config/global-mutation-interval -------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [("1d", "1d"), ("45m", "45m"), ("2M", "2M")])
def test_global_interval_is_set_and_visible(
    api: ApiClient, admin_token: str, value: str, shown: str
) -> None:
    """A valid duration answers 200 and GET /config shows it."""
    response = api.set_interval(admin_token, value)
    assert response.status_code == 200
    assert api.get("/config", admin_token).json()["global_mutation_interval"] == shown


@pytest.mark.parametrize("value", ["0m", "5x", "m5", "", "5", "05m", "-5m", "5 m", "1.5d", "5mm"])
def test_global_interval_bad_pattern_is_422(api: ApiClient, admin_token: str, value: str) -> None:
    """A value not matching ^[1-9]\\d*[mdMyY]$ is a 422 and changes nothing."""
    before = api.get("/config", admin_token).json()["global_mutation_interval"]
    response = api.set_interval(admin_token, value)
    assert response.status_code == 422
    assert api.get("/config", admin_token).json()["global_mutation_interval"] == before


@pytest.mark.parametrize(
    "body",
    [{"global_mutation_interval": 30}, {"global_mutation_interval": None}, {}, {"interval": "5m"}],
    ids=["int", "null", "missing", "unknown-field"],
)
def test_global_interval_bad_body_is_400(
    api: ApiClient, admin_token: str, body: dict[str, object]
) -> None:
    """A wrong JSON type, a missing or an unknown field is a 400."""
    assert api.put("/config/global-mutation-interval", admin_token, json=body).status_code == 400


# --- POST /config/users --------------------------------------------------------------------------


def test_create_user_answers_the_new_user(api: ApiClient, admin_token: str) -> None:
    """Creating a user answers uuid, username, role and must_change_password true; it is listed."""
    name = unique_name("new")
    response = api.post(
        "/config/users",
        admin_token,
        json={"username": name, "password": "password-01", "role": "admin"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_KEYS
    assert str(uuid.UUID(body["uuid"])) == body["uuid"]
    assert (body["username"], body["role"], body["must_change_password"]) == (name, "admin", True)
    assert listed_users(api, admin_token)[body["uuid"]] == body


def test_create_user_defaults_to_viewer(api: ApiClient, admin_token: str) -> None:
    """Without a role the new user is a viewer."""
    body = {"username": unique_name("dflt"), "password": "password-01"}
    assert api.post("/config/users", admin_token, json=body).json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("username", "password"),
    [("Z", "12345678"), ("b" * 64, "p" * 128), ("x.y_Z-9", "pass word")],
    ids=["shortest", "longest", "all-allowed-chars"],
)
def test_create_user_accepts_the_boundaries(
    api: ApiClient, admin_token: str, username: str, password: str
) -> None:
    """Usernames of 1 and 64 allowed characters and passwords of 8 and 128 are accepted."""
    body = {"username": username, "password": password}
    assert api.post("/config/users", admin_token, json=body).status_code == 200
    assert api.login(username, password).status_code == 200


def test_create_user_duplicate_is_409(api: ApiClient, admin_token: str) -> None:
    """Registering a username that a live user holds is a 409."""
    body = {"username": unique_name("dup"), "password": "password-01"}
    assert api.post("/config/users", admin_token, json=body).status_code == 200
    assert api.post("/config/users", admin_token, json=body).status_code == 409


def test_usernames_are_unique_and_log_in_case_insensitively(
    api: ApiClient, stranger: ApiClient, admin_token: str
) -> None:
    """`Name` taken makes `NAME` a 409; login as `NAME` is the user `Name`, spelled as created."""
    name = unique_name("Case")
    body = {"username": name, "password": "password-01"}
    created = api.post("/config/users", admin_token, json=body)
    assert created.status_code == 200
    for other in (name.upper(), name.lower()):
        response = api.post("/config/users", admin_token, json={**body, "username": other})
        assert response.status_code == 409, other
    login = stranger.login(name.upper(), "password-01")
    assert login.status_code == 200
    me = api.get("/auth/me", login.json()["access_token"]).json()
    assert (me["uuid"], me["username"]) == (created.json()["uuid"], name)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "", "password": "password-01"},
        {"username": "u" * 65, "password": "password-01"},
        {"username": "has space", "password": "password-01"},
        {"username": "slash/name", "password": "password-01"},
        {"username": "ünïcode", "password": "password-01"},
        {"username": "okname", "password": "short77"},
        {"username": "okname", "password": "p" * 129},
        {"username": "okname", "password": "password-01", "role": "superuser"},
        {"username": "okname", "password": "password-01", "role": "Admin"},
    ],
    ids=[
        "empty-name",
        "65-char-name",
        "space",
        "slash",
        "non-ascii",
        "7-char-password",
        "129-char-password",
        "unknown-role",
        "role-case",
    ],
)
def test_create_user_invalid_values_are_422(
    api: ApiClient, admin_token: str, body: dict[str, object]
) -> None:
    """A username, password or role breaking its documented rule is a 422."""
    assert api.post("/config/users", admin_token, json=body).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"username": "okname", "password": "password-01", "email": "x@y"},
        {"username": "okname"},
        {"username": 5, "password": "password-01"},
        {"username": "okname", "password": "password-01", "role": None},
    ],
    ids=["unknown-field", "missing-password", "username-int", "role-null"],
)
def test_create_user_bad_body_is_400(
    api: ApiClient, admin_token: str, body: dict[str, object]
) -> None:
    """An unknown field, a missing field or a wrong JSON type is a 400."""
    assert api.post("/config/users", admin_token, json=body).status_code == 400


# --- DELETE /config/users/{uuid} -----------------------------------------------------------------


def test_delete_user_ends_its_sessions_and_frees_the_name(
    api: ApiClient, stranger: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """A deleted user's token is 401, it cannot log in, and its username can be registered again."""
    victim = make_user("viewer")
    response = api.delete(f"/config/users/{victim.uuid}", admin_token)
    assert response.status_code == 200
    assert victim.uuid not in listed_users(api, admin_token)
    assert api.get("/auth/me", victim.token).status_code == 401
    assert stranger.login(victim.username, victim.password).status_code == 401
    again = api.post(
        "/config/users", admin_token, json={"username": victim.username, "password": "again-pw-1"}
    )
    assert again.status_code == 200
    assert again.json()["uuid"] != victim.uuid
    assert api.login(victim.username, "again-pw-1").status_code == 200
    assert api.delete(f"/config/users/{victim.uuid}", admin_token).status_code == 404


def test_delete_yourself_is_403(api: ApiClient, admin_token: str) -> None:
    """An admin cannot delete itself."""
    response = api.delete(f"/config/users/{admin_uuid(api, admin_token)}", admin_token)
    assert response.status_code == 403
    assert api.get("/auth/me", admin_token).status_code == 200


def test_delete_unknown_user_is_404(api: ApiClient, admin_token: str) -> None:
    """Deleting a uuid no user has is a 404."""
    assert api.delete(f"/config/users/{uuid.uuid4()}", admin_token).status_code == 404


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"])
def test_user_routes_reject_a_malformed_uuid(api: ApiClient, admin_token: str, bad: str) -> None:
    """A path uuid that is not a UUID is a 422 on delete, role and reset-password."""
    assert api.delete(f"/config/users/{bad}", admin_token).status_code == 422
    role = api.set_role(admin_token, bad, "viewer")
    assert role.status_code == 422
    reset = api.reset_password(admin_token, bad, "password-01")
    assert reset.status_code == 422


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("DELETE", "", None),
        ("PUT", "/role", {"role": "viewer"}),
        ("PUT", "/reset-password", {"new_password": "password-01"}),
    ],
    ids=["delete", "role", "reset-password"],
)
def test_a_username_claim_id_is_an_unknown_user(
    api: ApiClient, admin_token: str, method: str, suffix: str, body: dict[str, str] | None
) -> None:
    """The uuid of the admin's username claim (not a user) is a 404 on user routes, not a 500."""
    response = api.request(
        method, f"/config/users/{ADMIN_CLAIM_ID}{suffix}", admin_token, json=body
    )
    assert response.status_code == 404


def test_the_settings_id_is_an_unknown_user(api: ApiClient, admin_token: str) -> None:
    """The uuid of the settings stream (not a user) is a 404 on delete, not a 500."""
    assert api.set_limit(admin_token, 10).status_code == 200
    assert api.delete(f"/config/users/{SETTINGS_STREAM_ID}", admin_token).status_code == 404


# --- PUT /config/users/{uuid}/role ---------------------------------------------------------------


def test_change_role_applies_and_ends_old_tokens(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """Promoting a viewer ends its old token; a new login carries the admin role."""
    user = make_user("viewer")
    assert api.set_limit(user.token, 9).status_code == 403
    response = api.set_role(admin_token, user.uuid, "admin")
    assert response.status_code == 200
    assert api.get("/auth/me", user.token).status_code == 401
    token = api.token(user.username, user.password)
    assert api.get("/auth/me", token).json()["role"] == "admin"
    assert listed_users(api, admin_token)[user.uuid]["role"] == "admin"
    assert api.set_limit(token, 10).status_code == 200


def test_change_own_role_is_403(api: ApiClient, admin_token: str) -> None:
    """An admin cannot change its own role."""
    me = admin_uuid(api, admin_token)
    assert api.set_role(admin_token, me, "viewer").status_code == 403
    assert api.get("/auth/me", admin_token).json()["role"] == "admin"


def test_change_role_of_unknown_user_is_404(api: ApiClient, admin_token: str) -> None:
    """Changing the role of a uuid no user has is a 404."""
    response = api.set_role(admin_token, str(uuid.uuid4()), "admin")
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["boss", "", "ADMIN"])
def test_change_role_to_unknown_role_is_422(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account], role: str
) -> None:
    """A role other than admin or viewer is a 422 and the user keeps its token."""
    user = make_user("viewer")
    response = api.set_role(admin_token, user.uuid, role)
    assert response.status_code == 422
    assert api.get("/auth/me", user.token).json()["role"] == "viewer"


@pytest.mark.parametrize("body", [{}, {"role": 1}, {"role": "admin", "why": "x"}])
def test_change_role_bad_body_is_400(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account], body: dict[str, object]
) -> None:
    """A missing field, a wrong type or an unknown field is a 400."""
    user = make_user("viewer")
    assert api.put(f"/config/users/{user.uuid}/role", admin_token, json=body).status_code == 400


# --- PUT /config/users/{uuid}/reset-password -----------------------------------------------------


def test_reset_password_forces_a_change_and_ends_old_tokens(
    api: ApiClient, stranger: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """After a reset the old token is 401, the old password fails, the new one must be changed."""
    user = make_user("viewer")
    response = api.reset_password(admin_token, user.uuid, "reset-pw-01")
    assert response.status_code == 200
    assert api.get("/auth/me", user.token).status_code == 401
    assert stranger.login(user.username, user.password).status_code == 401
    login = api.login(user.username, "reset-pw-01")
    assert login.json()["must_change_password"] is True
    token = login.json()["access_token"]
    assert api.get("/config", token).status_code == 403
    assert listed_users(api, admin_token)[user.uuid]["must_change_password"] is True


def test_reset_password_of_unknown_user_is_404(api: ApiClient, admin_token: str) -> None:
    """Resetting the password of a uuid no user has is a 404."""
    response = api.reset_password(admin_token, uuid.uuid4(), "password-01")
    assert response.status_code == 404


def test_reset_password_too_short_is_422(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """A reset password outside 8..128 characters is a 422 and the user's token still works."""
    user = make_user("viewer")
    response = api.reset_password(admin_token, user.uuid, "short")
    assert response.status_code == 422
    assert api.get("/auth/me", user.token).status_code == 200


def test_reset_own_password_is_403(api: ApiClient, admin_token: str) -> None:
    """An admin resets others' passwords only; its own goes through change-password."""
    me = admin_uuid(api, admin_token)
    response = api.reset_password(admin_token, me, "password-01")
    assert response.status_code == 403


# --- DELETE /config/reinit -----------------------------------------------------------------------


def test_reinit_outside_developer_mode_is_403(api: ApiClient, admin_token: str) -> None:
    """Reinit is refused to admins when the server is not in developer mode."""
    assert api.delete("/config/reinit", admin_token).status_code == 403


def test_reinit_is_admin_only_in_developer_mode(dev_server: DecnetServer) -> None:
    """In developer mode a viewer is still refused reinit."""
    admin_token = activate_admin(dev_server)
    with dev_server.client() as api:
        viewer = make_account(api, admin_token, "viewer")
        assert api.delete("/config/reinit", viewer.token).status_code == 403


def test_reinit_in_developer_mode_purges(dev_server: DecnetServer) -> None:
    """In developer mode an admin's reinit answers the purge message and deleted counts."""
    admin_token = activate_admin(dev_server)
    with dev_server.client() as api:
        response = api.delete("/config/reinit", admin_token)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Data purged"
    assert set(body["deleted"]) >= {"logs", "bounties"}
    assert all(isinstance(n, int) and n >= 0 for n in body["deleted"].values())


# --- persistence ---------------------------------------------------------------------------------


def test_users_and_settings_survive_restart_and_rebuild(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """After a restart, and after `decnet projections rebuild`, /config and tokens are unchanged."""
    server = spawn_server()
    admin_token = activate_admin(server)
    with server.client() as api:
        kept = make_account(api, admin_token, "viewer")
        promoted = make_account(api, admin_token, "viewer")
        reset = make_account(api, admin_token, "viewer")
        gone = make_account(api, admin_token, "viewer")
        assert api.set_role(admin_token, promoted.uuid, "admin").status_code == 200
        assert api.reset_password(admin_token, reset.uuid, "reset-pw-01").status_code == 200
        assert api.delete(f"/config/users/{gone.uuid}", admin_token).status_code == 200
        assert api.set_limit(admin_token, 123).status_code == 200
        assert api.set_interval(admin_token, "3d").status_code == 200
        logged_out = api.token(kept.username, kept.password)
        assert api.post("/auth/logout", logged_out).status_code == 204
        before = api.get("/config", admin_token).json()
    assert before["deployment_limit"] == 123
    assert before["global_mutation_interval"] == "3d"

    def check_unchanged() -> None:
        with server.client() as api:
            assert api.get("/config", admin_token).json() == before
            assert api.get("/auth/me", kept.token).status_code == 200
            assert api.get("/auth/me", logged_out).status_code == 401
            assert api.get("/auth/me", promoted.token).status_code == 401
            assert api.get("/auth/me", gone.token).status_code == 401
            assert api.login(reset.username, "reset-pw-01").json()["must_change_password"] is True

    server.stop_cleanly()
    server.start()
    check_unchanged()

    server.stop_cleanly()
    rebuild = server.run_cli("projections", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    assert postgres_processes(server.data_dir) == []
    server.start()
    check_unchanged()
