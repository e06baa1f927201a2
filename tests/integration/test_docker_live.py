"""Docker deckies for real: the runtime contract on a live engine, and a fleet attacked end to end.

Run with `pytest -m docker_live tests/integration/test_docker_live.py`. The images are built
first by `infrastructure/runtime/images/build.sh` (cached: seconds when current). Everything
skips, with the reason, only when no Docker engine answers.

The deckies sit on a Docker *bridge* network: the kernels of these machines have no macvlan,
ipvlan or dummy link type. Production uses macvlan/ipvlan (`DECNET_DOCKER_NETWORK_DRIVER`); the
macvlan test below runs where the kernel has it and skips with the kernel's answer elsewhere.
On a bridge the host holds the gateway address, so most clients run on the host with that
address as their source (the attacker the API then shows), and the emulators ship their records
to the server's collector at that same address; one client runs in a network namespace the test
plugs into the bridge with a veth pair, an attacker on the LAN with an address of its own.

Knobs (environment): DECNET_TEST_DOCKER_SUBNET (the fleet's, default 172.30.219.0/24) and
DECNET_TEST_DOCKER_CONTRACT_SUBNET (default 172.30.218.0/24), for machines where those clash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import DockerException, NotFound

from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import (
    MANAGED,
    DockerNetworkOptions,
    DockerRuntimeOptions,
)
from projections.attackers_schema import attacker_uuid
from tests.api.conftest import activate_admin
from tests.api.dataplane_support import ftp_session, http_exchange, raw_request, ssh_session
from tests.api.fleet_support import accepts, deckies, deploy
from tests.api.harness import (
    PG_URL_ENV,
    ApiClient,
    Backend,
    DecnetServer,
    running_server,
    scratch_dir,
)
from tests.api.observations_support import fields_of, get_json, wait_for
from tests.contract.test_runtime_contract import DockerProbe, RuntimeContract, make_spec

pytestmark = pytest.mark.docker_live

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "infrastructure" / "runtime" / "images" / "build.sh"
PREFIX = "docker-live"  # containers and networks of this suite (shared engine: unique names)
FLEET_SUBNET = ipaddress.ip_network(os.environ.get("DECNET_TEST_DOCKER_SUBNET", "172.30.219.0/24"))
CONTRACT_SUBNET = ipaddress.ip_network(
    os.environ.get("DECNET_TEST_DOCKER_CONTRACT_SUBNET", "172.30.218.0/24")
)
GATEWAY = str(FLEET_SUBNET.network_address + 1)
READY_S = 90.0  # deploy to every emulator answering (containers start Python cold)
POLL_S = 20.0  # records shipped, collected, projected


@pytest.fixture
def anyio_backend() -> str:
    """The runtime is asyncio code."""
    return "asyncio"


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    """A client of the real engine, or a skip saying which engine did not answer."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except (DockerException, OSError) as exc:  # a dead socket is a requests OSError
        pytest.skip(f"no Docker engine answers at {where}: {exc}")
    yield client
    remove_suite_objects(client)
    client.close()


@pytest.fixture(scope="module")
def images(engine: docker.DockerClient) -> None:
    """The base and emulator images, built by the project's script (a no-op when current)."""
    done = subprocess.run(
        [str(BUILD)], cwd=REPO, capture_output=True, text=True, timeout=1200, check=False
    )
    assert done.returncode == 0, f"{BUILD} failed:\n{done.stderr[-3000:]}"


def remove_suite_objects(client: docker.DockerClient) -> None:
    """Every container and network this suite made (by name prefix, then managed label)."""
    for container in client.containers.list(all=True, filters={"label": f"{MANAGED}=true"}):
        if container.name.startswith(PREFIX):
            with contextlib.suppress(NotFound):  # gone with its base already
                container.remove(force=True)
    for network in client.networks.list():
        if network.name.startswith(PREFIX):
            with contextlib.suppress(NotFound):
                network.remove()


# --- the runtime contract on a live engine ----------------------------------------------------


def contract_options() -> DockerRuntimeOptions:
    """Real images; the services ship to a port nothing listens on (their spool holds it)."""
    gateway = str(CONTRACT_SUBNET.network_address + 1)
    network = DockerNetworkOptions(
        name=f"{PREFIX}-contract", driver="bridge", subnet=str(CONTRACT_SUBNET), gateway=gateway
    )
    return DockerRuntimeOptions(
        network=network, syslog_target=f"tcp://{gateway}:9", name_prefix=f"{PREFIX}-contract"
    )


class TestDockerLiveContract(RuntimeContract):
    """The shared runtime contract on `DockerRuntime` with a real engine and real images."""

    @pytest.fixture
    def probe(self, engine: docker.DockerClient, images: None) -> DockerProbe:
        prefix = str(CONTRACT_SUBNET.network_address).rsplit(".", 1)[0]
        return DockerProbe(engine, f"{PREFIX}-contract", prefix, name_prefix="live")

    @pytest.fixture
    async def runtime(
        self, engine: docker.DockerClient, probe: DockerProbe
    ) -> AsyncIterator[DockerRuntime]:
        live = DockerRuntime(contract_options(), client=engine)
        yield live
        for name in probe.names:  # containers outlive close() by design: remove them here
            await live.remove(name)


# --- macvlan, where the kernel has it ---------------------------------------------------------


def kernel_link_support() -> str | None:
    """None when this kernel can make dummy and macvlan links, else the kernel's answer."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"dlprobe{os.getpid() % 10000}"
    made: list[str] = []
    try:
        for link, args in (
            (name, ["type", "dummy"]),
            (f"{name}m", ["link", name, "type", "macvlan"]),
        ):
            done = subprocess.run(
                ["ip", "link", "add", link, *args], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                kind = args[-1]
                return f"this kernel cannot make a {kind} link: {done.stderr.strip()}"
            made.append(link)
    finally:
        for link in reversed(made):
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
    return None


@pytest.mark.anyio
async def test_a_macvlan_decky_answers_on_its_own_address(
    engine: docker.DockerClient, images: None
) -> None:
    """On macvlan over a dummy parent, a decky's http answers a netns on the same parent."""
    missing = kernel_link_support()
    if missing:
        pytest.skip(missing)
    subnet = ipaddress.ip_network("172.30.217.0/24")
    parent, netns = f"{PREFIX[:6]}dm0", f"{PREFIX}-mv"
    run = ["ip", "link", "add", parent, "type", "dummy"]
    subprocess.run(run, check=True)
    subprocess.run(["ip", "link", "set", parent, "up"], check=True)
    network = DockerNetworkOptions(
        name=f"{PREFIX}-macvlan",
        driver="macvlan",
        subnet=str(subnet),
        gateway=str(subnet.network_address + 1),
        parent=parent,
    )
    runtime = DockerRuntime(
        DockerRuntimeOptions(network=network, syslog_target="tcp://172.30.217.1:9",
                             name_prefix=f"{PREFIX}-mv"),
        client=engine,
    )  # fmt: skip
    spec = make_spec("mv-1", str(subnet.network_address + 10), ("http",))
    try:
        report = await runtime.apply(spec)
        assert report.status == "running", report.detail
        child = f"{parent}c"  # the client's link: a macvlan sibling of the decky's (bridge mode)
        for step in (
            ["ip", "netns", "add", netns],
            ["ip", "link", "add", child, "link", parent, "type", "macvlan", "mode", "bridge"],
            ["ip", "link", "set", child, "netns", netns],
            ["ip", "-n", netns, "addr", "add", f"{subnet.network_address + 200}/24", "dev", child],
            ["ip", "-n", netns, "link", "set", child, "up"],
        ):
            subprocess.run(step, check=True)
        fetch = f"import urllib.request as u; print(u.urlopen('http://{spec.ip}/').status)"
        deadline = time.monotonic() + READY_S
        while True:
            done = subprocess.run(
                ["ip", "netns", "exec", netns, "python3", "-c", fetch],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.stdout.strip() == "200" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done.stdout.strip() == "200", done.stderr[-500:]
    finally:
        await runtime.remove(spec.name)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", parent], capture_output=True, check=False)


# --- a fleet deployed through `decnet serve`, attacked by real clients ------------------------

FLEET_INI = f"""
[general]
net = {FLEET_SUBNET}
gw = {GATEWAY}

[dlfiles]
services = http, ftp
[dlfiles.ftp]
users = bob:builder1

[dlshell]
services = ssh
[dlshell.ssh]
password = hunter22
"""
CREDENTIALS = {
    ("http", "webadmin", "Spring2024!"),
    ("ftp", "bob", "wrongpass"), ("ftp", "bob", "builder1"),
    ("ssh", "root", "hunter22"),
}  # fmt: skip


@dataclass
class DockerFleet:
    """The server, an admin session, the deckies as `/deckies` shows them."""

    server: DecnetServer
    api: ApiClient
    token: str
    deckies: dict[str, dict[str, Any]]
    uploads: dict[str, bytes] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)

    def where(self, decky: str, service: str) -> tuple[str, int]:
        """(ip, port) of the decky's service."""
        return self.deckies[decky]["ip"], self.deckies[decky]["ports"][service]

    def get(self, path: str, **params: Any) -> Any:
        """GET as admin, must be 200."""
        return get_json(self.api, self.token, path, **params)


def backend() -> Backend:
    """The machine's PostgreSQL when DECNET_TEST_PG_URL is set, else the embedded one."""
    url = os.environ.get(PG_URL_ENV)
    return Backend("external", url) if url else Backend("embedded")


def server_env(data_dir: Path) -> dict[str, str]:
    """A Docker-runtime server whose collector the deckies reach at the bridge's gateway."""
    return {
        "DECNET_RUNTIME": "docker",
        "DECNET_DOCKER_NETWORK": f"{PREFIX}-fleet",
        "DECNET_DOCKER_NETWORK_DRIVER": "bridge",
        "DECNET_DOCKER_NAME_PREFIX": f"{PREFIX}-fleet",
        # The bridge (and its gateway address) appears only at the first deploy.
        "DECNET_SYSLOG_HOST": "0.0.0.0",  # noqa: S104 - the deckies reach it via the bridge
        "DECNET_ARTIFACTS_ROOT": str(data_dir / "artifacts"),
    }


def wait_until_serving(fleet: DockerFleet) -> None:
    """Every decky `running` in `/deckies` and every service accepting TCP on its IP."""

    def probe() -> dict[str, dict[str, Any]] | None:
        rows = deckies(fleet.api, fleet.token)
        if any(d["status"] != "running" for d in rows.values()):
            return None
        for row in rows.values():
            for port in row["ports"].values():
                try:
                    accepts(row["ip"], port)
                except OSError:
                    return None
        return rows

    fleet.deckies = wait_for(probe, READY_S, "every decky running and answering", every=0.5)


@pytest.fixture(scope="module")
def docker_fleet(engine: docker.DockerClient, images: None) -> Iterator[DockerFleet]:
    """`decnet serve` on the Docker runtime with the fleet deployed and answering."""
    with (
        scratch_dir("docker-live") as data_dir,
        backend().database_url() as url,
        running_server(data_dir, url, extra_env=server_env(data_dir)) as server,
    ):
        token = activate_admin(server)
        with server.client() as api:
            response = deploy(api, token, FLEET_INI)
            assert response.status_code == 200, f"{response.text}\n{server.log_tail()}"
            fleet = DockerFleet(server, api, token, deckies(api, token))
            try:
                wait_until_serving(fleet)
            except AssertionError as exc:
                detail = f"{exc}\n{server.log_tail()}\n{container_logs(engine)}"
                raise AssertionError(detail) from None
            yield fleet
            for name in fleet.deckies:
                assert api.delete(f"/deckies/{name}", token).status_code in (200, 202, 204)
            wait_for(lambda: not suite_containers(engine, "fleet") or None, 60.0, "teardown")


def suite_containers(client: docker.DockerClient, part: str) -> list[Any]:
    found = client.containers.list(all=True, filters={"label": f"{MANAGED}=true"})
    return [c for c in found if c.name.startswith(f"{PREFIX}-{part}")]


def container_logs(client: docker.DockerClient) -> str:
    """The last lines of every fleet container, for a failure message."""
    parts = []
    for c in suite_containers(client, "fleet"):
        parts.append(f"--- {c.name} ({c.status})\n{c.logs(tail=15).decode(errors='replace')}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def attacked(docker_fleet: DockerFleet) -> DockerFleet:
    """http (a login form), ssh (login, shell, exec, SFTP upload), ftp (logins, STOR)."""
    fleet, source = docker_fleet, GATEWAY
    fleet.uploads = {"ssh": os.urandom(3000), "ftp": os.urandom(2500)}
    form = b"username=webadmin&password=Spring2024%21"
    login = raw_request(
        "POST", "/login", "Mozilla/5.0", form, Content_Type="application/x-www-form-urlencoded"
    )
    fleet.answers["http"] = http_exchange(*fleet.where("dlfiles", "http"), source, login)
    session = ssh_session(
        *fleet.where("dlshell", "ssh"), source, ("root", "hunter22"), ["uname -a", "exit"], "id",
        ("/tmp/loot.bin", fleet.uploads["ssh"]),
    )  # fmt: skip
    fleet.answers["ssh"] = asyncio.run(session)
    fleet.answers["ftp"] = ftp_session(
        *fleet.where("dlfiles", "ftp"), source, ("bob", "wrongpass"), ("bob", "builder1"),
        ("dump.bin", fleet.uploads["ftp"]),
    )  # fmt: skip
    return fleet


def test_deckies_run_as_containers_on_their_own_addresses(
    docker_fleet: DockerFleet, engine: docker.DockerClient
) -> None:
    """One base per decky holding its IP and MAC, one container per service in its namespace."""
    containers = suite_containers(engine, "fleet")
    for name, decky in docker_fleet.deckies.items():
        (base,) = [c for c in containers if c.labels.get("decnet.decky") == name
                   and c.labels.get("decnet.role") == "base"]  # fmt: skip
        endpoint = base.attrs["NetworkSettings"]["Networks"][f"{PREFIX}-fleet"]
        assert endpoint["IPAddress"] == decky["ip"]
        assert endpoint["MacAddress"] == decky["mac"]
        services = {c.labels["decnet.service"]: c for c in containers
                    if c.labels.get("decnet.decky") == name
                    and c.labels.get("decnet.role") == "service"}  # fmt: skip
        assert set(services) == set(decky["services"])
        for service in services.values():
            assert service.attrs["HostConfig"]["NetworkMode"] == f"container:{base.id}"
            assert service.status == "running"


def test_real_clients_get_real_answers(attacked: DockerFleet) -> None:
    """The emulators in the containers answer http, ssh and ftp clients on the decky IPs."""
    answers = attacked.answers
    assert answers["http"].startswith(b"HTTP/1.1 "), answers["http"][:200]
    assert "Linux" in answers["ssh"]["shell"], answers["ssh"]
    assert answers["ssh"]["exit_status"] == "0"
    assert answers["ftp"]["right"].startswith("230"), answers["ftp"]
    assert answers["ftp"]["stor"].startswith("226"), answers["ftp"]
    with urllib.request.urlopen(f"http://{attacked.where('dlfiles', 'http')[0]}/", timeout=5) as r:
        assert r.status == 200


def test_records_of_both_deckies_reach_the_api(attacked: DockerFleet) -> None:
    """What the clients did is in `/logs`, from the gateway (the attacker), per decky/service."""

    def probe() -> set[tuple[str, str]] | None:
        rows = attacked.get("/logs", search=GATEWAY, limit=1000)["data"]
        seen = {(r["decky"], r["service"]) for r in rows if r["attacker_ip"] == GATEWAY}
        wanted = {("dlfiles", "http"), ("dlfiles", "ftp"), ("dlshell", "ssh")}
        return seen if seen >= wanted else None

    wait_for(probe, POLL_S, "records of every decky service in /logs", every=0.2)


def test_credentials_reach_the_bounty_vault(attacked: DockerFleet) -> None:
    """Every login the clients tried (http form, ftp, ssh) is a credential bounty."""

    def probe() -> set[tuple[str, str, str]] | None:
        page = attacked.get("/bounty", bounty_type="credential", search=GATEWAY, limit=1000)
        rows = [r for r in page["data"] if r["attacker_ip"] == GATEWAY]
        seen = {(r["service"], r["payload"]["username"], r["payload"]["password"]) for r in rows}
        return seen if seen >= CREDENTIALS else None

    assert wait_for(probe, POLL_S, "every credential in /bounty", every=0.2) >= CREDENTIALS


def test_uploads_land_on_the_artifacts_volume_and_download(attacked: DockerFleet) -> None:
    """SFTP and FTP uploads written in the containers are served by the API byte for byte."""
    uuid = str(attacker_uuid(GATEWAY))

    def probe() -> list[dict[str, Any]] | None:
        if attacked.api.get(f"/attackers/{uuid}", attacked.token).status_code == 404:
            return None
        body = attacked.get(f"/attackers/{uuid}/artifacts")
        return body["data"] if body["total"] >= 2 else None

    rows = wait_for(probe, POLL_S, "two artifacts", every=0.2)
    assert {(r["service"], r["decky"]) for r in rows} == {("ftp", "dlfiles"), ("ssh", "dlshell")}
    for row in rows:
        fields, payload = fields_of(row), attacked.uploads[row["service"]]
        assert fields["sha256"] == hashlib.sha256(payload).hexdigest()
        download = attacked.api.get(
            f"/artifacts/{row['decky']}/{fields['stored_as']}", attacked.token
        )
        assert download.status_code == 200, download.text
        assert download.content == payload


# Run by the LAN attacker's python3: one HTTP request, prints the status line's start.
LAN_FETCH = """
import socket, sys
ip, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with socket.create_connection((ip, port), timeout=10) as s:
    s.sendall(f"GET {path} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n".encode())
    print(s.recv(12))
"""


@contextlib.contextmanager
def lan_host(engine: docker.DockerClient, address: str) -> Iterator[str]:
    """A network namespace plugged into the fleet's bridge by a veth pair, holding `address`:
    an attacker on the deckies' LAN with an address of its own. Yields the namespace's name."""
    network = engine.networks.get(f"{PREFIX}-fleet")
    bridge = f"br-{network.id[:12]}"  # Docker's name for a user-defined bridge
    netns, outside, inside = f"{PREFIX}-lan", "dlveth0", "dlveth1"
    steps = [
        ["ip", "netns", "add", netns],
        ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
        ["ip", "link", "set", inside, "netns", netns],
        ["ip", "link", "set", outside, "master", bridge, "up"],
        ["ip", "-n", netns, "addr", "add", f"{address}/{FLEET_SUBNET.prefixlen}", "dev", inside],
        ["ip", "-n", netns, "link", "set", inside, "up"],
    ]
    try:
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{' '.join(step)}: {done.stderr}"
        yield netns
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)


def test_an_attacker_on_the_lan_is_seen_with_its_own_address(
    attacked: DockerFleet, engine: docker.DockerClient
) -> None:
    """A client in a namespace on the deckies' LAN reaches a decky; the API shows its address."""
    attacker = str(FLEET_SUBNET.broadcast_address - 5)
    ip, port = attacked.where("dlfiles", "http")
    path = f"/lan-probe-{os.getpid()}"
    with lan_host(engine, attacker) as netns:
        done = subprocess.run(
            ["ip", "netns", "exec", netns, "python3", "-c", LAN_FETCH, ip, str(port), path],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    assert "HTTP/1.1" in done.stdout, done.stdout + done.stderr

    def probe() -> list[dict[str, Any]] | None:
        return attacked.get("/logs", search=path, limit=50)["data"] or None

    rows = wait_for(probe, POLL_S, "the LAN attacker's request in /logs", every=0.2)
    assert {r["attacker_ip"] for r in rows} == {attacker}


def test_deckies_outlive_the_server_and_spool_what_happens_meanwhile(
    attacked: DockerFleet, engine: docker.DockerClient
) -> None:
    """Given the server stopped, the deckies keep answering and spool their records; the restarted
    server adopts the same containers and receives what was spooled. (Runs last: it restarts.)"""
    before = {c.name: c.id for c in suite_containers(engine, "fleet")}
    ip, port = attacked.where("dlfiles", "http")
    server = attacked.server
    server.stop_cleanly()
    marker = f"/while-away-{os.getpid()}"
    reply = http_exchange(ip, port, GATEWAY, raw_request("GET", marker, "curl/8.5.0"))
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]  # the collector is down; the decky is not

    server.start()
    attacked.token = attacked.api.token("admin", server.admin_password)
    wait_until_serving(attacked)
    assert {c.name: c.id for c in suite_containers(engine, "fleet")} == before  # adopted

    def probe() -> list[dict[str, Any]] | None:
        rows = attacked.get("/logs", search=marker, limit=50)["data"]
        return rows or None

    rows = wait_for(probe, 60.0, "the request made while the server was down", every=0.5)
    assert {(r["decky"], r["service"]) for r in rows} == {("dlfiles", "http")}
