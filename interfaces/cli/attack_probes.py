"""More `decnet attack-sim` clients: MySQL (PyMySQL), SMTP (smtplib), and a probe for the rest.

Same rules as `attack_clients`: bound to the run's loopback source, every call within
`TIMEOUT_S`. Services without a client of their own get `probe`: a TCP banner grab or one UDP
datagram — enough to reach the decky's listener and leave a record.
"""

from __future__ import annotations

import smtplib
import socket
import time
from email.message import EmailMessage

from domain.fleet.catalogue import SERVICES
from interfaces.cli.attack_clients import TIMEOUT_S, Sim, Target

ER_ACCESS_DENIED = 1045
MYSQL_USER = "root"
BANNER_WAIT_S = 1.5  # services that wait for the client to speak first stay silent this long
UDP_PROBE = b"attack-sim probe\r\n"


# --- mysql ---------------------------------------------------------------------------------------


def mysql_attack(target: Target, sim: Sim) -> None:
    """A brute force of root logins with a real client: handshake, auth packet, denial."""
    import pymysql  # only this command needs it; keep `decnet`'s other commands fast

    denied, version = 0, ""
    for password in sim.guesses:
        conn = pymysql.connect(
            host=target.ip,
            port=target.ports["mysql"],
            user=MYSQL_USER,
            password=password,
            database="mysql",
            bind_address=sim.source,
            connect_timeout=TIMEOUT_S,
            read_timeout=TIMEOUT_S,
            write_timeout=TIMEOUT_S,
            program_name="attack-sim",
            defer_connect=True,  # so the server's version is known even when login fails
        )
        try:
            conn.connect()
        except pymysql.err.MySQLError as e:
            if not e.args or e.args[0] != ER_ACCESS_DENIED:
                sim.failed("mysql", target, e)
                return
            denied += 1
        else:
            conn.close()  # the emulator never lets anyone in; say so if it ever does
            sim.note("mysql", target, f"login {MYSQL_USER}:{password} ACCEPTED")
        version = version or str(conn.server_version or "")
    sim.note("mysql", target, f"{version}: brute force {MYSQL_USER}: {denied} logins denied")


# --- smtp ----------------------------------------------------------------------------------------


def smtp_attack(target: Target, sim: Sim) -> None:
    """EHLO, a wrong AUTH PLAIN, the configured login if any, then mail through the relay."""
    login = target.login("smtp")
    with smtplib.SMTP(
        target.ip,
        target.ports["smtp"],
        local_hostname="attack-sim.invalid",
        timeout=TIMEOUT_S,
        source_address=sim.bind(),
    ) as smtp:
        smtp.ehlo()
        banner = str(smtp.ehlo_resp or b"", "utf-8", "replace").splitlines()[:1]
        try:
            _auth_plain(smtp, "admin", "admin123")
            sim.note("smtp", target, "AUTH admin:admin123 ACCEPTED")
        except smtplib.SMTPAuthenticationError as e:
            sim.note("smtp", target, f"{banner[0] if banner else ''}: wrong AUTH -> {e.smtp_code}")
        if login is not None:
            _auth_plain(smtp, *login)
            sim.note("smtp", target, f"AUTH {login[0]}:{login[1]} accepted")
        refused = smtp.send_message(_message(target))
        sim.note("smtp", target, f"relayed a message ({len(refused)} recipients refused)")


def _auth_plain(smtp: smtplib.SMTP, user: str, password: str) -> None:
    # One mechanism on purpose: smtplib's login() would retry every advertised one, each
    # failure costing the decky's deliberate delay.
    smtp.user, smtp.password = user, password
    smtp.auth("PLAIN", smtp.auth_plain)


def _message(target: Target) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "attack-sim <attack-sim@attack-sim.invalid>"
    message["To"] = "postmaster@example.com"
    message["Subject"] = f"relay test via {target.name}"
    message.set_content(f"sent by decnet attack-sim at {time.strftime('%Y-%m-%dT%H:%M:%SZ')}\n")
    return message


# --- any other service ---------------------------------------------------------------------------


def probe(target: Target, sim: Sim, service: str) -> None:
    """Reach a service no client above speaks: grab a TCP banner, or send one UDP datagram."""
    address = (target.ip, target.ports[service])
    known = SERVICES.get(service)
    if known is not None and known.transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(sim.bind())
            sock.sendto(UDP_PROBE, address)
        sim.note(service, target, f"probe: {len(UDP_PROBE)} byte datagram sent")
        return
    with socket.create_connection(address, TIMEOUT_S, source_address=sim.bind()) as sock:
        sock.settimeout(BANNER_WAIT_S)
        try:
            greeting = sock.recv(256)
        except TimeoutError:
            greeting = b""
    first = greeting.decode("utf-8", "replace").splitlines()[:1]
    shown = repr(first[0][:40]) if first else "(silent: waits for the client)"
    sim.note(service, target, f"banner grab -> {shown}")
