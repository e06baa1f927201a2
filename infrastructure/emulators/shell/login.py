"""Who may log in to the fake shell (ssh and telnet share the INI keys) and the box they see."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from infrastructure.emulators.shell.machine import Machine, account_name, build_machine, utc_now
from infrastructure.runtime.handlers import ServiceContext

MAX_FIELD = 256  # usernames and passwords are recorded, but never unbounded


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """`password` lets any username in; `users` (`name:password,…`) lets those pairs in."""

    password: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> LoginPolicy:
        """Read the `[decky.ssh]` / `[decky.telnet]` keys; no keys means nobody gets in."""
        users: dict[str, str] = {}
        for entry in config.get("users", "").split(","):
            name, sep, secret = entry.strip().partition(":")
            if sep and name:
                users[name] = secret
        return cls(config.get("password") or None, users)

    def accepts(self, username: str, password: str) -> bool:
        """Whether this pair opens the fake shell."""
        if self.password is not None and _same(password, self.password):
            return True
        expected = self.users.get(username)
        return expected is not None and _same(password, expected)

    @property
    def accounts(self) -> tuple[str, ...]:
        """The configured login names as the fake /etc/passwd lists them."""
        return tuple(dict.fromkeys(account_name(n) for n in self.users if n != "root"))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def clip(value: str) -> str:
    """An attacker-supplied string bounded for a record field."""
    return value[:MAX_FIELD]


def shell_user(username: str) -> str:
    """The account a successful login lands in (`root` stays root)."""
    return "root" if username == "root" else account_name(username)


def base_machine(ctx: ServiceContext, policy: LoginPolicy) -> Machine:
    """The decky as its shell shows it; built once per service so uptime keeps growing."""
    hostname = ctx.config.get("hostname") or ctx.hostname
    return build_machine(hostname, "", ctx.distro, policy.accounts, utc_now())


def session_machine(base: Machine, ip: str, user: str) -> Machine:
    """The machine one session sees: the decky's address, and the login user's account."""
    accounts = base.accounts
    if user != "root" and user not in accounts:
        accounts = (*accounts, user)
    return replace(base, ip=ip, accounts=accounts)
