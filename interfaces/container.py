"""Everything one process wires together; built by `bootstrap()` and passed to the interfaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.identity.login import Authenticator
from application.identity.settings import SettingsCommands
from application.identity.users import UserCommands
from application.ports import ComponentHealth
from application.store import EventStoreApp
from infrastructure.settings import AppSettings
from projections.identity_queries import PostgresUserDirectory
from projections.runner import ProjectionRunner


@dataclass
class Container:
    """The composition root's product: settings, store, read side and command handlers."""

    settings: AppSettings
    store: EventStoreApp
    pool: AsyncConnectionPool[Any]
    runner: ProjectionRunner
    users: UserCommands
    config: SettingsCommands
    directory: PostgresUserDirectory
    auth: Authenticator
    health: dict[str, Callable[[], Awaitable[ComponentHealth]]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
