"""Black-box tests of `/deckies` against a real `decnet serve` with the local runtime.

One server for the module (its own data dir, so other suites' fleets never interfere); each test
uses its own decky names and its own loopback subnet 127.90.N.0/24.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.api.fleet_support import accepts, banner, deckies, deploy, own_server, refuses, tcp_ports
from tests.api.harness import (
    Account,
    ApiClient,
    Backend,
    DecnetServer,
    make_account,
    scratch_dir,
)


@pytest.fixture(scope="module")
def fleet_server(
    backend: Backend,
) -> Iterator[tuple[DecnetServer, str]]:
    """A server of this module's own, with room for every test's deckies."""
    # scratch_dir, not tmp_path: the embedded PostgreSQL user must reach the data dir.
    with scratch_dir("fleet") as data_dir, own_server(backend, data_dir) as (server, token):
        with server.client() as api:
            limit = api.put("/config/deployment-limit", token, json={"deployment_limit": 500})
            assert limit.status_code == 200, limit.text
        yield server, token


@pytest.fixture
def api(fleet_server: tuple[DecnetServer, str]) -> Iterator[ApiClient]:
    """A client of the module's server."""
    with fleet_server[0].client() as client:
        yield client


@pytest.fixture
def admin(fleet_server: tuple[DecnetServer, str]) -> str:
    """An admin token of the module's server."""
    return fleet_server[1]


@pytest.fixture
def viewer(api: ApiClient, admin: str) -> Account:
    """A viewer who has chosen their password."""
    return make_account(api, admin, "viewer")


def test_deploy_runs_real_listeners(api: ApiClient, admin: str) -> None:
    """Deployed deckies are running on their IPs, with real ports answering with banners."""
    ini = (
        "[alpha]\nservices = ssh, ftp\nip = 127.90.1.1\n[alpha.ssh]\nbanner = SSH-2.0-OpenSSH_7.4\n"
        "[beta]\narchetype = web-server\nip = 127.90.1.2\n"
    )
    response = deploy(api, admin, ini)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Deployed 2 deckies",
        "deckies": ["alpha", "beta"],
        "unchanged": [],
        "ignored": [],
    }
    fleet = deckies(api, admin)
    alpha, beta = fleet["alpha"], fleet["beta"]
    assert (alpha["ip"], alpha["status"], alpha["status_detail"]) == ("127.90.1.1", "running", "")
    assert set(alpha["ports"]) == {"ssh", "ftp"}
    assert beta["services"] == ["http", "ftp"]
    assert beta["archetype"] == "web-server"
    assert banner("127.90.1.1", alpha["ports"]["ssh"]).startswith(b"SSH-2.0-OpenSSH_7.4")
    assert banner("127.90.1.1", alpha["ports"]["ftp"]).startswith(b"220 ")
    assert alpha["service_config"] == {"ssh": {"banner": "SSH-2.0-OpenSSH_7.4"}}
    deployed = datetime.fromisoformat(alpha["deployed_at"])
    assert alpha["last_mutated"] is None
    assert datetime.fromisoformat(alpha["next_mutation_at"]) == deployed + timedelta(minutes=30)


def test_mutate_moves_listening_ports(api: ApiClient, admin: str) -> None:
    """A mutation stops the removed services' sockets and opens the new ones."""
    assert deploy(api, admin, "[gamma]\nservices = ssh, ftp\nip = 127.90.2.1\n").status_code == 200
    before = deckies(api, admin)["gamma"]
    response = api.post("/deckies/gamma/mutate", admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Successfully mutated gamma"
    after = deckies(api, admin)["gamma"]
    assert after["services"] == body["services"]
    assert set(after["services"]) != {"ssh", "ftp"}
    assert (after["status"], set(after["ports"])) == ("running", set(body["services"]))
    assert after["last_mutated"] is not None
    for service, port in tcp_ports(after).items():
        assert accepts("127.90.2.1", port), service
    gone = set(tcp_ports(before).values()) - set(after["ports"].values())
    for port in gone:
        assert refuses("127.90.2.1", port), port


def test_interval_set_and_cleared(api: ApiClient, admin: str) -> None:
    """A decky's own interval (`"5d"` or minutes) shows as minutes and drives next_mutation_at;
    null returns to the global one."""
    assert deploy(api, admin, "[delta]\nservices = ssh\nip = 127.90.3.1\n").status_code == 200
    put = api.put("/deckies/delta/mutate-interval", admin, json={"mutate_interval": "5d"})
    assert put.status_code == 200, put.text
    assert put.json() == {"message": "Mutation interval updated"}
    delta = deckies(api, admin)["delta"]
    assert (delta["mutate_interval"], delta["effective_mutate_interval"]) == (5 * 1440, "5d")
    deployed = datetime.fromisoformat(delta["deployed_at"])
    assert datetime.fromisoformat(delta["next_mutation_at"]) == deployed + timedelta(days=5)
    minutes = api.put("/deckies/delta/mutate-interval", admin, json={"mutate_interval": 90})
    assert minutes.status_code == 200, minutes.text
    delta = deckies(api, admin)["delta"]
    assert (delta["mutate_interval"], delta["effective_mutate_interval"]) == (90, "90m")
    assert datetime.fromisoformat(delta["next_mutation_at"]) == deployed + timedelta(minutes=90)
    cleared = api.put("/deckies/delta/mutate-interval", admin, json={"mutate_interval": None})
    assert cleared.status_code == 200
    global_interval = api.get("/config", admin).json()["global_mutation_interval"]
    delta = deckies(api, admin)["delta"]
    assert (delta["mutate_interval"], delta["effective_mutate_interval"]) == (None, global_interval)


def test_teardown_stops_and_frees(api: ApiClient, admin: str) -> None:
    """DELETE answers 204, closes the decky's sockets and frees its name and IP."""
    ini = "[eps]\nservices = ssh\nip = 127.90.4.1\n"
    assert deploy(api, admin, ini).status_code == 200
    port = deckies(api, admin)["eps"]["ports"]["ssh"]
    response = api.delete("/deckies/eps", admin)
    assert response.status_code == 204
    assert response.content == b""
    assert "eps" not in deckies(api, admin)
    assert refuses("127.90.4.1", port)
    assert api.delete("/deckies/eps", admin).status_code == 404
    assert deploy(api, admin, ini).status_code == 200


@pytest.mark.parametrize(
    ("ini", "reason"),
    [
        ("[zeta]\nservices = ssh\nip = 127.90.5.9\n", "already exists"),
        ("[zeta-2]\nservices = ssh\nip = 127.90.5.1\n", "already used"),
        ("[general]\nnet = 10.20.0.0/24\n[zeta-3]\nservices = ssh\n", "not loopback"),
        ("[zeta-4]\nservices = ssh\nip = 192.168.7.7\n", "not loopback"),
    ],
)
def test_deploy_conflicts_are_409(api: ApiClient, admin: str, ini: str, reason: str) -> None:
    """Name or IP already in the fleet, and a non-loopback net for the local runtime, are 409."""
    if "zeta" not in deckies(api, admin):
        assert deploy(api, admin, "[zeta]\nservices = ssh\nip = 127.90.5.1\n").status_code == 200
    response = deploy(api, admin, ini)
    assert response.status_code == 409, response.text
    assert reason in response.json()["detail"]


def test_deployment_limit_is_409(api: ApiClient, admin: str) -> None:
    """A deploy past the deployment limit is a 409 and adds nothing."""
    count = len(deckies(api, admin))
    api.put("/config/deployment-limit", admin, json={"deployment_limit": count + 1})
    try:
        response = deploy(api, admin, "[eta]\nservices = ssh\namount = 2\n")
        assert response.status_code == 409, response.text
        assert f"deployment limit of {count + 1}" in response.json()["detail"]
        assert len(deckies(api, admin)) == count
    finally:
        api.put("/config/deployment-limit", admin, json={"deployment_limit": 500})


@pytest.mark.parametrize(
    ("ini", "where"),
    [
        ("[theta\nservices = ssh\n", "line 1"),
        ("[theta]\nservices = gopher\n", "[theta] services"),
        ("[theta]\nservices = ssh\namount = 0\n", "[theta] amount"),
        ("[theta]\nservices = ssh\nip = 127.90.6.300\n", "[theta] ip"),
        ("[theta]\narchetype = toaster\n", "[theta] archetype"),
        ("[theta]\n" + "#" * (513 * 1024), "512 KiB"),
        ("[theta]\nservices = ssh\n[theta.ssh]\nport = 99999\n", "[theta.ssh] port: not config"),
        ("[theta]\nservices = http\n[theta.http]\nresponse_code = 700\n", "[theta.http] response_"),
        ("[theta]\nservices = ftp\n[theta.ftp]\nusers = bob\n", "[theta.ftp] users: entry 1"),
        ("[theta]\nservices = ssh\n[theta.ssh]\nhostname = a_b\n", "[theta.ssh] hostname:"),
        ("[../../etc]\nservices = ssh\n", "[../../etc] section name '../../etc'"),
    ],
)
def test_invalid_ini_is_422(api: ApiClient, admin: str, ini: str, where: str) -> None:
    """An INI invalid on its own is a 422 whose detail names where and why."""
    response = deploy(api, admin, ini)
    assert response.status_code == 422, response.text
    assert where in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/deckies/Bad_Name/mutate", None),
        ("POST", "/deckies/" + "a" * 65 + "/mutate", None),
        ("PUT", "/deckies/UPPER/mutate-interval", {"mutate_interval": "5d"}),
        ("DELETE", "/deckies/no.dots", None),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": "5x"}),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": "0m"}),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": 0}),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": -5}),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": 100 * 525600 + 1}),
    ],
)
def test_bad_names_and_intervals_are_422(
    api: ApiClient, admin: str, method: str, path: str, body: object
) -> None:
    """Names outside ^[a-z0-9-]{1,64}$ and malformed intervals are 422."""
    assert api.request(method, path, admin, json=body).status_code == 422


@pytest.mark.parametrize("value", [b"1.5", b"true", b"[30]", b'{"m": 30}'])
def test_interval_of_a_wrong_json_type_is_400(api: ApiClient, admin: str, value: bytes) -> None:
    """`mutate_interval` is a string, whole minutes or null; any other JSON type is a 400."""
    response = api.put(
        "/deckies/zeta/mutate-interval",
        admin,
        content=b'{"mutate_interval": ' + value + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/deckies/deploy", b'{"ini_content": 5}'),
        ("/deckies/deploy", b"{}"),
        ("/deckies/deploy", b'{"ini_content": "[a]\\n", "extra": 1}'),
        ("/deckies/deploy", b"[a]\nservices = ssh"),
    ],
)
def test_malformed_bodies_are_400(api: ApiClient, admin: str, path: str, content: bytes) -> None:
    """Wrong JSON types, missing or unknown fields, and non-JSON bodies are 400."""
    headers = {"Content-Type": "application/json"}
    assert api.post(path, admin, content=content, headers=headers).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/deckies/ghost/mutate", None),
        ("PUT", "/deckies/ghost/mutate-interval", {"mutate_interval": None}),
        ("DELETE", "/deckies/ghost", None),
    ],
)
def test_unknown_decky_is_404(
    api: ApiClient, admin: str, method: str, path: str, body: object
) -> None:
    """Per-decky commands on a name not in the fleet are 404."""
    response = api.request(method, path, admin, json=body)
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]


def test_viewers_read_admins_write(api: ApiClient, viewer: Account) -> None:
    """Viewers list deckies but every write is 403 for them and 401 without a token."""
    assert api.get("/deckies", viewer.token).status_code == 200
    assert api.get("/deckies").status_code == 401
    writes = [
        ("POST", "/deckies/deploy", {"ini_content": "[v]\nservices = ssh\nip = 127.90.7.1\n"}),
        ("POST", "/deckies/zeta/mutate", None),
        ("PUT", "/deckies/zeta/mutate-interval", {"mutate_interval": "5d"}),
        ("DELETE", "/deckies/zeta", None),
    ]
    for method, path, body in writes:
        assert api.request(method, path, viewer.token, json=body).status_code == 403, path
        assert api.request(method, path, json=body).status_code == 401, path


def test_viewers_see_decky_secrets_redacted(api: ApiClient, admin: str, viewer: Account) -> None:
    """A viewer's /deckies hides password, users and secret-named keys; an admin sees them."""
    ini = (
        "[kappa]\nservices = ssh, redis\nip = 127.90.9.1\n"
        "[kappa.ssh]\npassword = hunter22\nusers = bob:builder1\nbanner = SSH-2.0-OpenSSH_7.4\n"
        "api_token = t0ps3cret\n[kappa.redis]\npassword = r3dis\nversion = 6.2.6\n"
    )
    assert deploy(api, admin, ini).status_code == 200
    as_admin = deckies(api, admin)["kappa"]["service_config"]
    as_viewer = deckies(api, viewer.token)["kappa"]["service_config"]
    assert as_admin == {
        "ssh": {
            "password": "hunter22",
            "users": "bob:builder1",
            "banner": "SSH-2.0-OpenSSH_7.4",
            "api_token": "t0ps3cret",
        },
        "redis": {"password": "r3dis", "version": "6.2.6"},
    }
    assert as_viewer == {
        "ssh": {
            "password": "[redacted]",
            "users": "[redacted]",
            "banner": "SSH-2.0-OpenSSH_7.4",
            "api_token": "[redacted]",
        },
        "redis": {"password": "[redacted]", "version": "6.2.6"},
    }
    listing = api.get("/deckies", viewer.token).text
    assert not any(secret in listing for secret in ("hunter22", "builder1", "t0ps3cret", "r3dis"))


def test_unknown_service_settings_are_kept_and_reported_ignored(api: ApiClient, admin: str) -> None:
    """A key no emulator reads is deployed into service_config and listed under `ignored`."""
    ini = (
        "[lam]\nservices = ssh\nip = 127.90.10.1\n[lam.ssh]\nbanner = OpenSSH_7.4\ncolour = blue\n"
    )
    response = deploy(api, admin, ini)
    assert response.status_code == 200, response.text
    assert response.json()["ignored"] == ["[lam.ssh] colour"]
    config = deckies(api, admin)["lam"]["service_config"]
    assert config == {"ssh": {"banner": "OpenSSH_7.4", "colour": "blue"}}


def test_redeploy_adds_missing_deckies_and_keeps_identical_ones(api: ApiClient, admin: str) -> None:
    """Re-deploying a grown INI deploys only what is missing; a contradiction is a 409."""
    first = "[mu]\nservices = ssh\nip = 127.90.11.1\n[nu]\narchetype = web-server\n"
    assert deploy(api, admin, first).status_code == 200
    nu_before = deckies(api, admin)["nu"]
    assert api.post("/deckies/mu/mutate", admin).status_code == 200
    grown = first + "[xi]\nservices = ftp\nip = 127.90.11.3\n"
    response = deploy(api, admin, grown)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["deckies"], body["unchanged"]) == (["xi"], ["mu", "nu"])
    assert body["message"] == "Deployed 1 decky, 2 deckies already deployed and unchanged"
    fleet = deckies(api, admin)
    assert fleet["xi"]["status"] == "running"
    assert {k: fleet["nu"][k] for k in ("ip", "mac", "deployed_at")} == {
        k: nu_before[k] for k in ("ip", "mac", "deployed_at")
    }
    same = deploy(api, admin, grown)
    assert same.status_code == 200, same.text
    assert (same.json()["deckies"], same.json()["unchanged"]) == ([], ["mu", "nu", "xi"])
    moved = deploy(api, admin, grown.replace("127.90.11.1", "127.90.11.9") + "[pi]\n")
    assert moved.status_code == 409, moved.text
    assert "[mu] ip: decky 'mu' already exists with ip 127.90.11.1" in moved.json()["detail"]
    stolen = deploy(api, admin, "[rho]\nservices = ssh\nip = 127.90.11.3\n")
    assert stolen.status_code == 409, stolen.text
    assert "already used in the fleet by decky 'xi'" in stolen.json()["detail"]
    assert not {"pi", "rho"} & set(deckies(api, admin))


def test_stats_and_health_report_the_fleet(api: ApiClient, admin: str) -> None:
    """/stats counts the fleet's deckies; /health's docker component names the local runtime."""
    assert deploy(api, admin, "[iota]\nservices = ftp\nip = 127.90.8.1\n").status_code == 200
    fleet = deckies(api, admin)
    stats = api.get("/stats", admin).json()
    running = sum(d["status"] == "running" for d in fleet.values())
    assert running >= 1
    assert (stats["deployed_deckies"], stats["active_deckies"]) == (len(fleet), running)
    docker = api.get("/health", admin).json()["components"]["docker"]
    assert docker["status"] == "ok"
    assert docker["detail"].startswith("local runtime:")
