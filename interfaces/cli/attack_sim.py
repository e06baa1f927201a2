"""`decnet attack-sim`: real clients against the running fleet, so a newcomer sees data flow.

Every client is bound to one loopback source address, so the server sees a single attacker
moving across deckies. Only loopback decky addresses are ever contacted (anything else is
refused before a packet is sent) and every network call carries a timeout.
"""

from __future__ import annotations

import argparse
import ftplib
import http.client
import ipaddress
import sys
import time
from collections.abc import Callable
from typing import Any

from domain.fleet.secrets import REDACTED
from interfaces.cli.api_client import ApiClient, ApiError, connect, default_url, server_url
from interfaces.cli.attack_clients import (
    Sim,
    Target,
    ftp_attack,
    http_scan,
    redis_attack,
    ssh_attack,
    telnet_attack,
)
from interfaces.cli.attack_probes import mysql_attack, probe, smtp_attack

DEFAULT_SOURCE = "127.0.0.66"
PROJECTION_WAIT_S = 8.0  # how long to wait for the attacker profile before printing the link


def add_attack_sim_command(commands: Any) -> None:
    """Register `decnet attack-sim` on the `decnet` parser."""
    sim = commands.add_parser("attack-sim", help="drive real attack clients against the fleet")
    sim.add_argument("--url", type=server_url, default=default_url())
    sim.add_argument("--token", help="bearer token (default: $DECNET_CLI_TOKEN)")
    sim.add_argument("--user", help="log in as this user (default: $DECNET_CLI_USER or admin)")
    sim.add_argument("--password", help="password (default: $DECNET_CLI_PASSWORD or a prompt)")
    sim.add_argument("--decky", action="append", help="only this decky (repeatable)")
    sim.add_argument("--source-ip", default=DEFAULT_SOURCE, help=f"default {DEFAULT_SOURCE}")
    sim.add_argument("--quick", action="store_true", help="one decky per service, fewer guesses")


def run_attack_sim(args: argparse.Namespace) -> int:
    """The command: list the fleet, attack what runs on loopback, print where to look."""
    source = _loopback_source(args.source_ip)
    if source is None:
        print(f"decnet: --source-ip {args.source_ip!r} must be an IPv4 loopback address",
              file=sys.stderr)  # fmt: skip
        return 2
    sim = Sim(source, args.quick)
    try:
        client = connect(args.url, args.token, args.user, args.password)
        _, fleet = client.request("GET", "/deckies")
        targets = select_targets(fleet, args.decky)
        if not targets:
            return 1
        started = time.monotonic()
        attack(targets, sim)
        print(f"Done in {time.monotonic() - started:.1f} s: {sim.actions} actions", end="")
        print(f", {len(sim.failures)} failed ({', '.join(sim.failures)})" if sim.failures else "")
        skipped = untouched(targets, sim)
        if skipped:
            cap = 1 if sim.quick else 3
            print(f"Not touched ({cap} decky per service at most; narrow with --decky):"
                  f" {', '.join(skipped)}")  # fmt: skip
        show_attacker(client, args.url, source)
    except ApiError as e:
        print(f"decnet: {e} ({e.status})" if e.status else f"decnet: {e}", file=sys.stderr)
        return 1
    return 0 if sim.actions else 1


def _loopback_source(raw: str) -> str | None:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    return str(address) if address.version == 4 and address.is_loopback else None


def select_targets(fleet: list[dict[str, Any]], wanted: list[str] | None) -> list[Target]:
    """Running deckies (only `wanted` ones if given); non-loopback ones are refused, loudly."""
    missing = sorted(set(wanted or ()) - {d["name"] for d in fleet})
    if missing:
        print(f"decnet: no decky named {', '.join(missing)}", file=sys.stderr)
        return []
    targets = []
    for decky in fleet:
        if wanted and decky["name"] not in wanted:
            continue
        if not ipaddress.ip_address(decky["ip"]).is_loopback:
            print(f"refusing {decky['name']} at {decky['ip']}: attack-sim only targets"
                  " loopback deckies (the local runtime)", file=sys.stderr)  # fmt: skip
        elif decky["status"] != "running":
            print(f"skipping {decky['name']}: {decky['status']}", file=sys.stderr)
        else:
            # A non-admin sees secrets as "[redacted]": those logins are unknown, not wrong.
            config = {
                service: {k: v for k, v in settings.items() if v != REDACTED}
                for service, settings in (decky.get("service_config") or {}).items()
            }
            targets.append(Target(decky["name"], decky["ip"], dict(decky["ports"]), config))
    if not targets:
        print("decnet: no running loopback decky to attack; deploy an INI first", file=sys.stderr)
    return targets


Step = Callable[[Target, Sim], None]
# Services with a client of their own, in an intruder's order: web recon first, then logins.
RECON: tuple[tuple[str, Step], ...] = (
    ("http", lambda target, sim: http_scan(target, sim, "http")),
    ("https", lambda target, sim: http_scan(target, sim, "https")),
)
LOGINS: tuple[tuple[str, Step], ...] = (
    ("ssh", ssh_attack),
    ("ftp", ftp_attack),
    ("telnet", telnet_attack),
    ("redis", redis_attack),
    ("mysql", mysql_attack),
    ("smtp", smtp_attack),
)
CLIENT_ERRORS = (OSError, EOFError, ftplib.Error, http.client.HTTPException, TimeoutError)


def attack(targets: list[Target], sim: Sim) -> None:
    """Web recon, probes of the services without a client, then logins; each step bounded."""
    count = f"{len(targets)} {'decky' if len(targets) == 1 else 'deckies'}"
    print(f"Attacking {count} from {sim.source}:", flush=True)
    limit = 1 if sim.quick else 3
    clients = dict((*RECON, *LOGINS))
    others = sorted({service for t in targets for service in t.ports} - set(clients))
    probes: list[tuple[str, Step]] = [(s, _probe_of(s)) for s in others]
    # Web recon, then a probe of every service without a client, then the logins.
    for service, step in (*RECON, *probes, *LOGINS):
        chosen = pick(targets, service, limit)
        if service == "ssh" and chosen and not any(t.login("ssh") for t in chosen):
            print("  (no decky has [NAME.ssh] password/users: ssh is brute force only)")
        for target in chosen:
            failures = len(sim.failures)
            try:
                step(target, sim)
            except CLIENT_ERRORS as e:
                sim.failed(service, target, e)
            if len(sim.failures) == failures:
                sim.touched.add((service, target.name))


def _probe_of(service: str) -> Step:
    return lambda target, sim: probe(target, sim, service)


def untouched(targets: list[Target], sim: Sim) -> list[str]:
    """`service@decky` pairs neither reached nor reported failed (beyond the per-service cap)."""
    return [
        f"{service}@{t.name}"
        for t in targets
        for service in t.ports
        if (service, t.name) not in sim.touched and f"{service}@{t.name}" not in sim.failures
    ]


def pick(targets: list[Target], service: str, limit: int) -> list[Target]:
    """Up to `limit` deckies running `service`, those with a configured login first."""
    running = [t for t in targets if service in t.ports]
    return sorted(running, key=lambda t: t.login(service) is None)[:limit]


# --- where to look -------------------------------------------------------------------------------


def show_attacker(client: ApiClient, url: str, source: str) -> None:
    """Wait (bounded) for the attacker profile and print it with the routes to explore."""
    from projections.attackers_schema import attacker_uuid  # the server's own derivation

    uuid = attacker_uuid(source)
    profile = _await_profile(client, str(uuid))
    base = url.rstrip("/") + "/api/v1"
    print(f"\nYou are attacker {source} = {uuid}")
    if profile is not None:
        print(summary(profile))
    else:
        print(f"  (not projected yet after {PROJECTION_WAIT_S:.0f} s: look again in a moment)")
    print("Where to look (with -H 'Authorization: Bearer $DECNET_CLI_TOKEN'):")
    for path in ("", "/commands", "/artifacts"):
        print(f"  {base}/attackers/{uuid}{path}")
    print(f"  {base}/bounty?search={source}")
    print(f"  {base}/logs?search=attacker:{source}")


def summary(profile: dict[str, Any]) -> str:
    """Two lines: where the attacker went, and what the server made of it."""
    behavior = profile["behavior"]
    return (
        f"  services {', '.join(profile['services'])}; deckies {' → '.join(profile['deckies'])}\n"
        f"  bounty {profile['bounty_count']} (credentials {profile['credential_count']}),"
        f" commands {profile['command_count']}, tools {', '.join(behavior['tool_guesses'])},"
        f" class {behavior['behavior_class']}, os {behavior['os_guess'] or '-'}"
    )


def _await_profile(client: ApiClient, uuid: str) -> dict[str, Any] | None:
    """The profile once two reads half a second apart agree (the projection caught up)."""
    deadline = time.monotonic() + PROJECTION_WAIT_S
    previous: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        try:
            _, profile = client.request("GET", f"/attackers/{uuid}")
        except ApiError as e:
            if e.status != 404:
                return None
            profile = None
        if profile and previous and profile["event_count"] == previous["event_count"]:
            return dict(profile)
        previous = profile
        time.sleep(0.5)
    return previous
