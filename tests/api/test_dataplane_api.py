"""The data plane end to end: real clients against a real `decnet serve`'s emulators.

One server and one fleet (on its own loopback net 127.95.N.0/24) for the module. The `attacked`
fixture drives every client once from one source address (ssh brute force, login, pty shell,
exec and SFTP; raw HTTP; ftplib; telnet; RESP); each test then checks one consequence through
the API, polling with a deadline because projections are asynchronous.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from interfaces.cli import attack_sim
from interfaces.cli.attack_clients import Sim, Target
from interfaces.cli.attack_sim import select_targets
from projections.attackers_schema import attacker_uuid
from tests.api.dataplane_support import (
    ftp_session,
    http_exchange,
    raw_request,
    redis_session,
    ssh_refused,
    ssh_session,
    telnet_session,
)
from tests.api.fleet_support import deckies, deploy, own_server
from tests.api.harness import ApiClient, Backend, DecnetServer, scratch_dir
from tests.api.observations_support import fields_of, get_json, wait_for

POLL_S = 5.0  # every projection wait
_NETS = itertools.count(random.randint(1, 200))
SQLMAP_UA = "sqlmap/1.7#stable (https://sqlmap.org)"
SHELL_LINES = ["whoami", "uname -a", "cat /etc/hostname", "exit"]
EXEC_COMMAND = "id"
TELNET_LINES = ["hostname"]
SSH_GUESSES = ["123456", "password", "123456"]  # a retried guess: the vault keeps it once
CREDENTIALS = {
    ("ssh", "root", "123456"), ("ssh", "root", "password"), ("ssh", "root", "hunter22"),
    ("http", "webadmin", "Spring2024!"),
    ("ftp", "bob", "wrongpass"), ("ftp", "bob", "builder1"),
    ("telnet", "operator", "letmein"), ("telnet", "operator", "op-pass-7"),
    ("redis", "default", "nope-pw"), ("redis", "default", "r3dis-pw"),
}  # fmt: skip


def fleet_ini(net: int) -> str:
    """`files` (http, ftp, mysql, smtp) and `shell` (ssh, telnet, redis, pop3, ntp), with logins."""
    return (
        f"[general]\nnet = 127.95.{net}.0/24\n"
        "[files]\nservices = http, ftp, mysql, smtp\n[files.ftp]\nusers = bob:builder1\n"
        "[shell]\nservices = ssh, telnet, redis, pop3, ntp\n[shell.ssh]\npassword = hunter22\n"
        "[shell.telnet]\nusers = operator:op-pass-7\n[shell.redis]\npassword = r3dis-pw\n"
    )


@dataclass
class Fleet:
    """The module's server, an admin token, the deployed deckies and the subnet number."""

    server: DecnetServer
    api: ApiClient
    token: str
    deckies: dict[str, dict[str, Any]]
    net: int

    def where(self, decky: str, service: str) -> tuple[str, int]:
        """(ip, port) where the decky's service really listens."""
        return self.deckies[decky]["ip"], self.deckies[decky]["ports"][service]

    def get(self, path: str, **params: Any) -> Any:
        """GET as admin, must be 200."""
        return get_json(self.api, self.token, path, **params)


@dataclass
class Attack:
    """What the clients did and saw, from one source address."""

    source: str
    uploads: dict[str, bytes]
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return str(attacker_uuid(self.source))


def sniffer_ok(fleet: Fleet) -> tuple[bool, str]:
    """Whether the sniffer captures, and its health detail."""
    component = fleet.get("/health")["components"]["sniffer_worker"]
    return component["status"] == "ok", component["detail"]


@pytest.fixture(scope="module")
def fleet(backend: Backend) -> Iterator[Fleet]:
    """A server of this module's own with the fleet deployed (and the sniffer watching it)."""
    net = next(_NETS) % 250 + 1
    with (
        scratch_dir("dataplane") as data_dir,
        own_server(backend, data_dir) as (server, token),
        server.client() as api,
    ):
        response = deploy(api, token, fleet_ini(net))
        assert response.status_code == 200, f"{response.text}\n{server.log_tail()}"
        fleet = Fleet(server, api, token, deckies(api, token), net)
        if sniffer_ok(fleet)[0]:  # SYNs sent before it knows the decky IPs are not captured
            wait_for(lambda: "for 2 deckies" in sniffer_ok(fleet)[1] or None, 10.0, "sniffer")
        yield fleet


@pytest.fixture(scope="module")
def attacked(fleet: Fleet) -> Attack:
    """Every client once, in this order: http, ssh, ftp (files → shell → files), telnet, redis."""
    attack = Attack(f"127.96.{fleet.net}.10", {"ssh": os.urandom(3000), "ftp": os.urandom(2500)})
    for drive in (_web, _ssh, _ftp, _telnet, _redis):
        drive(fleet, attack)
    return attack


def _web(fleet: Fleet, attack: Attack) -> None:
    web, source = fleet.where("files", "http"), attack.source
    scan = raw_request("GET", "/?id=1%27--", SQLMAP_UA)
    form = b"username=webadmin&password=Spring2024%21"
    urlencoded = "application/x-www-form-urlencoded"
    login = raw_request("POST", "/login", "Mozilla/5.0", form, Content_Type=urlencoded)
    attack.answers["sqlmap"] = http_exchange(*web, source, scan)
    attack.answers["login"] = http_exchange(*web, source, login)
    attack.answers["admin"] = http_exchange(*web, source, raw_request("GET", "/admin/", SQLMAP_UA))


def _ssh(fleet: Fleet, attack: Attack) -> None:
    ssh, source = fleet.where("shell", "ssh"), attack.source
    guesses = [asyncio.run(ssh_refused(*ssh, source, "root", g)) for g in SSH_GUESSES]
    upload = ("/tmp/loot.bin", attack.uploads["ssh"])
    login = ("root", "hunter22")
    session = ssh_session(*ssh, source, login, SHELL_LINES, EXEC_COMMAND, upload)
    attack.answers.update(guesses=guesses, ssh=asyncio.run(session))


def _ftp(fleet: Fleet, attack: Attack) -> None:
    wrong, right = ("bob", "wrongpass"), ("bob", "builder1")
    upload = ("dump.bin", attack.uploads["ftp"])
    ftp = fleet.where("files", "ftp")
    attack.answers["ftp"] = ftp_session(*ftp, attack.source, wrong, right, upload)


def _telnet(fleet: Fleet, attack: Attack) -> None:
    wrong, right = ("operator", "letmein"), ("operator", "op-pass-7")
    telnet = fleet.where("shell", "telnet")
    attack.answers["telnet"] = telnet_session(*telnet, attack.source, wrong, right, TELNET_LINES)


def _redis(fleet: Fleet, attack: Attack) -> None:
    commands = [["AUTH", "nope-pw"], ["AUTH", "r3dis-pw"], ["CONFIG", "GET", "dir"]]
    redis = fleet.where("shell", "redis")
    attack.answers["redis"] = redis_session(*redis, attack.source, commands)


def bounty_of(fleet: Fleet, ip: str, kind: str) -> list[dict[str, Any]]:
    """The attacker's bounty rows of one type (search is a substring: filter the IP exactly)."""
    page = fleet.get("/bounty", bounty_type=kind, search=ip, limit=1000)
    return [row for row in page["data"] if row["attacker_ip"] == ip]


def profile_when(fleet: Fleet, uuid: str, ready: Any, what: str) -> dict[str, Any]:
    """The attacker profile once `ready(profile)` holds (bounded wait)."""

    def probe() -> dict[str, Any] | None:
        response = fleet.api.get(f"/attackers/{uuid}", fleet.token)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        profile: dict[str, Any] = response.json()
        return profile if ready(profile) else None

    return wait_for(probe, POLL_S, what, every=0.1)


def test_real_clients_get_believable_answers(attacked: Attack, fleet: Fleet) -> None:
    """Each emulator answers its real client as the real server would."""
    a = attacked.answers
    hostname = fleet.deckies["shell"]["hostname"]
    assert a["sqlmap"].startswith(b"HTTP/1.1 200 OK\r\n"), a["sqlmap"][:200]
    assert b'<form method="post" action="/login">' in a["sqlmap"]
    assert b"Invalid username or password." in a["login"]
    assert a["admin"].startswith(b"HTTP/1.1 401 "), a["admin"][:200]
    assert b'WWW-Authenticate: Basic realm="Restricted Area"' in a["admin"]
    assert a["guesses"] == [True, True, True]
    assert f"root@{hostname}" in a["ssh"]["shell"], a["ssh"]["shell"]
    assert "Linux" in a["ssh"]["shell"]
    assert a["ssh"]["exec"].startswith("uid=0(root) gid=0(root)"), a["ssh"]
    ftp = a["ftp"]
    assert (ftp["banner"][:4], ftp["wrong"][:4], ftp["right"][:4]) == ("220 ", "530 ", "230 ")
    assert ftp["stor"].startswith("226 "), ftp
    telnet = a["telnet"]
    assert f"{hostname} login: " in telnet["greeting"]
    assert "Login incorrect" in telnet["wrong"]
    assert telnet["right"].endswith("$ "), telnet["right"][-200:]
    assert hostname in telnet["hostname"]
    assert a["redis"][0].startswith(b"-WRONGPASS"), a["redis"]
    assert a["redis"][1:] == [b"+OK\r\n", a["redis"][2]]
    assert a["redis"][2].startswith(b"*2\r\n$3\r\ndir\r\n"), a["redis"]


def test_credentials_reach_the_bounty_vault_once(attacked: Attack, fleet: Fleet) -> None:
    """Every pair tried on every service is a credential bounty, stored once each."""

    def probe() -> list[tuple[str, str, str]] | None:
        rows = bounty_of(fleet, attacked.source, "credential")
        seen = [(r["service"], r["payload"]["username"], r["payload"]["password"]) for r in rows]
        return seen if set(seen) >= CREDENTIALS else None

    seen = wait_for(probe, POLL_S, "every credential in /bounty", every=0.1)
    assert sorted(seen) == sorted(CREDENTIALS)  # the retried ssh guess is not stored twice


def test_client_fingerprints_reach_the_bounty_vault(attacked: Attack, fleet: Fleet) -> None:
    """The SSH client banner and the scanner's User-Agent are fingerprint bounties."""

    def probe() -> dict[str, list[dict[str, Any]]] | None:
        rows = [r["payload"] for r in bounty_of(fleet, attacked.source, "fingerprint")]
        kinds = {k: [p for p in rows if p["fingerprint_type"] == k] for k in ("ssh_client",
                 "http_useragent")}  # fmt: skip
        return kinds if all(kinds.values()) else None

    kinds = wait_for(probe, POLL_S, "ssh_client and http_useragent fingerprints", every=0.1)
    assert [p["value"][:17] for p in kinds["ssh_client"]] == ["SSH-2.0-AsyncSSH_"]
    agents = {(p["value"], p["method"], p["path"]) for p in kinds["http_useragent"]}
    assert (SQLMAP_UA, "GET", "/") in agents, agents
    assert (SQLMAP_UA, "GET", "/admin/") in agents, agents


def test_profile_shows_services_traversal_and_tools(attacked: Attack, fleet: Fleet) -> None:
    """One attacker: every service touched, files → shell, tools from UA and SSH banner."""
    listed = fleet.get("/attackers", search=attacked.source)["data"]
    assert [a["uuid"] for a in listed if a["ip"] == attacked.source] == [attacked.uuid]
    services = {"http", "ssh", "ftp", "telnet", "redis"}
    profile = profile_when(
        fleet,
        attacked.uuid,
        lambda p: (
            services <= set(p["services"])
            and {"sqlmap", "asyncssh"} <= set(p["behavior"]["tool_guesses"])
        ),
        "profile with every service and tool",
    )
    assert profile["deckies"] == ["files", "shell"]
    assert profile["traversal_path"] == "files → shell"
    assert (profile["is_traversal"], profile["decky_count"]) == (True, 2)
    assert set(profile["services"]) == services
    assert profile["credential_count"] >= len(CREDENTIALS)


def test_commands_are_listed_oldest_first(attacked: Attack, fleet: Fleet) -> None:
    """Shell and exec commands (ssh) and telnet commands, in the order they were typed."""
    expected_ssh = [*SHELL_LINES, EXEC_COMMAND]
    path = f"/attackers/{attacked.uuid}/commands"

    def probe() -> list[dict[str, Any]] | None:
        if fleet.api.get(f"/attackers/{attacked.uuid}", fleet.token).status_code == 404:
            return None
        rows: list[dict[str, Any]] = fleet.get(path, limit=200)["data"]
        telnet = [r["command"] for r in rows if r["service"] == "telnet"]
        return rows if telnet == [*TELNET_LINES, "exit"] else None

    rows = wait_for(probe, POLL_S, "telnet commands listed", every=0.1)
    ssh = fleet.get(path, service="ssh", limit=200)["data"]
    assert [r["command"] for r in ssh] == expected_ssh
    assert {(r["decky"], r["service"]) for r in ssh} == {("shell", "ssh")}
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps), "not oldest first"
    order = [r["command"] for r in rows]
    assert order.index(EXEC_COMMAND) < order.index("STOR dump.bin") < order.index("hostname")


def test_uploads_are_listed_and_downloadable_byte_identical(attacked: Attack, fleet: Fleet) -> None:
    """SFTP and FTP uploads are the attacker's artifacts; the admin downloads the same bytes."""
    path = f"/attackers/{attacked.uuid}/artifacts"

    def probe() -> list[dict[str, Any]] | None:
        if fleet.api.get(f"/attackers/{attacked.uuid}", fleet.token).status_code == 404:
            return None
        body = fleet.get(path)
        return body["data"] if body["total"] == 2 else None

    rows = wait_for(probe, POLL_S, "two artifacts", every=0.1)
    assert [(r["service"], r["decky"], r["event_type"]) for r in rows] == [
        ("ftp", "files", "file_captured"),  # newest first
        ("ssh", "shell", "file_captured"),
    ]
    for row in rows:
        fields, payload = fields_of(row), attacked.uploads[row["service"]]
        assert fields["sha256"] == hashlib.sha256(payload).hexdigest()
        assert fields["size"] == str(len(payload))
        response = fleet.api.get(f"/artifacts/{row['decky']}/{fields['stored_as']}", fleet.token)
        assert response.status_code == 200, response.text
        assert response.content == payload
        assert response.headers["content-type"] == "application/octet-stream"
    assert fields_of(rows[1])["orig_path"] == "/tmp/loot.bin"
    assert fields_of(rows[0])["orig_path"].endswith("/dump.bin")


def test_sniffer_fingerprint_feeds_behaviour(attacked: Attack, fleet: Fleet) -> None:
    """As root, SYN fingerprints give the attacker an OS guess, hop distance and TCP signature."""
    if os.geteuid() != 0:
        pytest.skip("not root: the sniffer has no raw-socket rights, so no SYN fingerprints")
    capturing, detail = sniffer_ok(fleet)
    assert capturing, f"running as root but sniffer_worker is not ok: {detail}"
    profile = profile_when(
        fleet,
        attacked.uuid,
        lambda p: p["behavior"]["tcp_fingerprint"] is not None,
        "tcp_fingerprint in behaviour",
    )
    behavior = profile["behavior"]
    assert behavior["os_guess"] == "linux"  # loopback SYNs come from this Linux kernel
    assert behavior["hop_distance"] == 0
    assert behavior["tcp_fingerprint"].startswith("64:"), behavior
    syn = [p for p in (r["payload"] for r in bounty_of(fleet, attacked.source, "fingerprint"))
           if p["fingerprint_type"] == "tcp_syn"]  # fmt: skip
    assert syn, "no tcp_syn fingerprint bounty"
    assert syn[0]["os_guess"] == "linux"


@dataclass(frozen=True)
class SimRun:
    """One `decnet attack-sim` run against the module's whole fleet."""

    source: str
    stdout: str
    stderr: str
    returncode: int
    elapsed: float

    @property
    def uuid(self) -> str:
        return str(attacker_uuid(self.source))


@pytest.fixture(scope="module")
def sim_run(fleet: Fleet) -> SimRun:
    """attack-sim from its own loopback source, timed."""
    source = f"127.96.{fleet.net}.20"
    started = time.monotonic()
    done = fleet.server.run_cli("attack-sim", "--url", fleet.server.base_url, "--token",
                                fleet.token, "--source-ip", source, timeout=60)  # fmt: skip
    elapsed = time.monotonic() - started
    return SimRun(source, done.stdout, done.stderr, done.returncode, elapsed)


def test_attack_sim_feeds_one_traversing_attacker(sim_run: SimRun, fleet: Fleet) -> None:
    """`decnet attack-sim` finishes in time and leaves an attacker with ≥ 3 services and bounty."""
    assert sim_run.returncode == 0, f"{sim_run.stdout}\n{sim_run.stderr}"
    assert sim_run.elapsed < 30, f"took {sim_run.elapsed:.1f}s:\n{sim_run.stdout}"
    assert f"/attackers/{sim_run.uuid}" in sim_run.stdout, sim_run.stdout
    assert "failed" not in sim_run.stdout, sim_run.stdout
    profile = profile_when(
        fleet,
        sim_run.uuid,
        lambda p: p["service_count"] >= 3 and p["bounty_count"] > 0,
        "sim attacker",
    )
    assert profile["deckies"] == ["files", "shell"]
    assert profile["command_count"] > 0
    assert {"nikto", "sqlmap", "asyncssh"} <= set(profile["behavior"]["tool_guesses"])


def test_attack_sim_touches_every_emulated_service(sim_run: SimRun, fleet: Fleet) -> None:
    """mysql gets a real client login, smtp AUTH and a relayed mail, the rest a probe; none left."""
    assert sim_run.returncode == 0, f"{sim_run.stdout}\n{sim_run.stderr}"
    assert "Not touched" not in sim_run.stdout, sim_run.stdout
    for service, words in (("mysql", "logins denied"), ("smtp", "relayed a message"),
                           ("pop3", "banner grab"), ("ntp", "datagram sent")):  # fmt: skip
        assert any(line.split()[:1] == [service] and words in line
                   for line in sim_run.stdout.splitlines()), (service, sim_run.stdout)  # fmt: skip
    every = {s for d in fleet.deckies.values() for s in d["services"]}
    profile = profile_when(
        fleet, sim_run.uuid, lambda p: every <= set(p["services"]), "every service touched"
    )
    assert set(profile["services"]) == every
    search = f"service:mysql event_type:auth attacker_ip:{sim_run.source}"

    def mysql_logins() -> list[dict[str, str]] | None:
        # The profile above is the attackers model's; the logs model follows the store on its
        # own and may not have indexed the logins yet.
        rows = [fields_of(row) for row in fleet.get("/logs", search=search)["data"]]
        return rows if len(rows) >= 3 else None

    logins = wait_for(mysql_logins, POLL_S, "the mysql logins in /logs", every=0.1)
    assert len(logins) == 3, logins
    assert all((f["username"], f["client_name"]) == ("root", "pymysql") for f in logins)
    credentials = [row["payload"] for row in bounty_of(fleet, sim_run.source, "credential")
                   if row["service"] == "smtp"]  # fmt: skip
    assert {"username": "admin", "password": "admin123"} in credentials


def test_attack_sim_refuses_a_non_loopback_source(fleet: Fleet) -> None:
    """A source address off loopback is refused before any packet is sent (exit 2)."""
    done = fleet.server.run_cli("attack-sim", "--url", fleet.server.base_url, "--token",
                                fleet.token, "--source-ip", "192.0.2.7", timeout=30)  # fmt: skip
    assert done.returncode == 2, done
    assert "must be an IPv4 loopback address" in done.stderr


def test_attack_sim_never_targets_a_non_loopback_decky(capsys: pytest.CaptureFixture[str]) -> None:
    """A decky whose IP is not loopback (a Docker fleet) is refused, loudly, not attacked."""
    fleet = [
        {"name": "lan", "ip": "192.168.1.20", "status": "running", "ports": {"ssh": 22}},
        {
            "name": "lo",
            "ip": "127.95.0.9",
            "status": "running",
            "ports": {"ssh": 22},
            "service_config": {"ssh": {"password": "[redacted]"}},
        },
    ]
    targets = select_targets(fleet, None)
    assert [t.name for t in targets] == ["lo"]
    assert targets[0].login("ssh") is None  # a viewer's "[redacted]" password is not tried
    assert "refusing lan at 192.168.1.20" in capsys.readouterr().err
    assert select_targets(fleet[:1], None) == []


def test_attack_sim_names_what_it_did_not_touch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the per-service cap, the deckies left out are named; a failed step is not one."""

    def login(target: Target, sim: Sim) -> None:
        if target.name == "d2":
            raise ConnectionResetError("reset")
        sim.note("ssh", target, "ok")

    monkeypatch.setattr(attack_sim, "RECON", ())
    monkeypatch.setattr(attack_sim, "LOGINS", (("ssh", login),))
    monkeypatch.setattr(attack_sim, "probe", lambda t, sim, s: sim.note(s, t, "probe"))
    targets = [Target(f"d{i}", "127.0.0.9", {"ssh": 22, "pop3": 110}, {}) for i in range(1, 5)]
    sim = Sim("127.0.0.66", quick=False)
    attack_sim.attack(targets, sim)
    assert sim.failures == ["ssh@d2"]
    assert attack_sim.untouched(targets, sim) == ["ssh@d4", "pop3@d4"]
