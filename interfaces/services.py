"""What `bootstrap()` builds for one process: typed services, no lookups by string key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from application.audit.checkpointer import Checkpointer
from application.fleet.commands import FleetCommands
from application.fleet.reconciler import Reconciler, Settlement
from application.fleet.scheduler import MutationScheduler
from application.fleet.settings import SettingsCommands
from application.identity.login import Authenticator
from application.identity.users import UserCommands
from application.observations.purge import PurgeObservations
from application.ports import (
    Broadcaster,
    DeckyRuntime,
    PasswordHasher,
    TicketStore,
)
from application.readmodels.commands import ReadModelCommands
from application.reads.ports import ProjectionProgress
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.audit.signing import SigningKey
from infrastructure.collector.report import IntakeReport
from infrastructure.leadership import AdvisoryLeadership
from interfaces.http.stream_lifetime import StreamSlots
from interfaces.http.stream_shared import StreamShared
from interfaces.observations import Collection
from interfaces.store_core import StoreCore
from projections.controller import ReadModelController
from projections.history_queries import HistoryQueries
from projections.identity_queries import PostgresUserDirectory
from projections.merkle_queries import TreeQueries
from projections.readers import PostgresReadModels
from projections.runner import ProjectionRunner
from projections.status import PostgresProjectionFacts
from projections.views import ViewRegistry


class Role(StrEnum):
    """What a process runs: `decnet serve` runs every role, its intake in a child process."""

    API = "api"
    PROJECTOR = "projector"
    COLLECTOR = "collector"
    FLEET = "fleet"


ALL_ROLES = frozenset(Role)
# `decnet serve`'s main process: the syslog intake (the collector role) runs in its child.
SERVE_ROLES = ALL_ROLES - {Role.COLLECTOR}
# The roles one process at a time may run on a database: the projector (one writer per model,
# and a users model whose commits `decnet serve`'s session cache must all see) and the fleet
# (one reconciler and mutation scheduler driving the runtime).
LEADING_ROLES = (Role.PROJECTOR, Role.FLEET)


def leader_lock(url: str, role: Role) -> AdvisoryLeadership:
    """The advisory lock the process running `role` on the database at `url` leads by."""
    return AdvisoryLeadership(url, f"decnet-es:{role.value}")


@dataclass(kw_only=True)
class Core(StoreCore):
    """What every process of the full composition root shares: the `StoreCore`, the read-model
    pool, the readers and the command handlers."""

    pool: AsyncConnectionPool[Any]
    hasher: PasswordHasher
    artifacts: ArtifactStore
    read_models: PostgresReadModels
    directory: PostgresUserDirectory
    users: UserCommands
    config: SettingsCommands
    read_model_commands: ReadModelCommands
    views: ViewRegistry
    projection_facts: PostgresProjectionFacts
    history: HistoryQueries
    tree: TreeQueries
    signing_key: SigningKey
    checkpointer: Checkpointer


@dataclass
class ApiServices:
    """What the HTTP interface reads and commands."""

    auth: Authenticator
    progress: ProjectionProgress
    broadcaster: Broadcaster
    purge: PurgeObservations
    tickets: TicketStore
    # SSE streams each user holds open in this process (DECNET_MAX_STREAMS_PER_USER).
    slots: StreamSlots
    # Set when the process begins to shut down: open SSE streams end at once.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Encoded frames and snapshot reads the process's SSE sessions share.
    streams: StreamShared = field(default_factory=StreamShared)


class DeploymentSettler(Protocol):
    """Waits (bounded) for the runtime's outcome of fleet commands up to a position."""

    async def settle(self, position: int, names: Sequence[str], wait_s: float) -> Settlement:
        """What the runtime reported for `names` once events up to `position` are applied."""
        ...


@dataclass
class FleetServices:
    """The fleet's commands and how a request waits for their outcome."""

    commands: FleetCommands
    settler: DeploymentSettler


@dataclass
class FleetWorkers:
    """The runtime with the process managers that drive it (the fleet role only)."""

    runtime: DeckyRuntime
    reconciler: Reconciler
    scheduler: MutationScheduler


@dataclass
class Services:
    """One process's services; optional parts exist only in processes with that role."""

    core: Core
    roles: frozenset[Role]
    api: ApiServices
    fleet: FleetServices
    runner: ProjectionRunner | None = None
    controller: ReadModelController | None = None
    collection: Collection | None = None
    fleet_workers: FleetWorkers | None = None
    # `decnet serve`: the leader locks it holds while it runs (`LEADING_ROLES`).
    leads: tuple[AdvisoryLeadership, ...] = ()
    # `decnet serve`: its intake process's counters, asked for now (None if it never answered).
    intake: Callable[[], Awaitable[IntakeReport | None]] | None = None
