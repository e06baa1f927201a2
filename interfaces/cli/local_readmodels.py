"""The read-model machinery of a maintenance command run with no server: core, runner, views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from application.observations.ingest import IngestCommands
from application.readmodels.commands import ReadModelCommands
from application.readmodels.status import StatusSources
from infrastructure.leadership import LeadershipTakenError
from infrastructure.settings import AppSettings
from interfaces.bootstrap import open_core
from interfaces.services import Role, leader_lock
from interfaces.status import status_sources
from projections.catalog import FACTORIES, VIEW_MODELS, all_projections
from projections.controller import ReadModelController
from projections.runner import ProjectionRunner
from projections.status import PostgresProjectionFacts
from projections.views import ViewRegistry, view_key

POLL_S = 0.2
# A server stopped a moment ago has ended its lock session; one still running is not waited for.
MAINTENANCE_WAIT_S = 3.0


@dataclass
class LocalReadModels:
    """A runner and the view controller driven by hand, for one command."""

    runner: ProjectionRunner
    controller: ReadModelController
    commands: ReadModelCommands
    views: ViewRegistry
    facts: PostgresProjectionFacts
    store: Any
    ingest: IngestCommands
    database_url: str  # the database this command opened (rebuild workers connect to it)
    leading: bool = True  # holds the projector's lock: the runner is this command's to drive

    def status_sources(self) -> StatusSources:
        """Where status facts come from, read directly."""
        return status_sources(self.store, self.facts)

    async def build_views(self) -> None:
        """Reconcile views with the control stream and build them to completion."""
        while True:
            await self.controller.reconcile()
            control = await anyio.to_thread.run_sync(self.commands.control)
            states = {v.label: v.state for v in await self.views.infos()}
            pending = [label for label in control.views if states.get(label) == "building"]
            if not pending and set(states) <= set(control.views):
                return
            for label in pending:
                for model in VIEW_MODELS:
                    if view_key(label, model) in self.runner.slots:
                        await self.runner.catch_up_slot(view_key(label, model))
            await anyio.sleep(POLL_S)


@asynccontextmanager
async def open_local(
    settings: AppSettings, must_lead: bool = True
) -> AsyncIterator[LocalReadModels]:
    """Only what read-model maintenance needs: no runtime, no collector, no admin bootstrap.

    The read models are this command's only while it holds the projector's leader lock (ADR
    0018): with a server or a split projector leading the database, `LeadershipTakenError`, or
    with `must_lead` False, the store alone (`leading` False: the leader projects).
    """
    async with open_core(settings) as core, AsyncExitStack() as lock:
        leading = True
        try:
            await lock.enter_async_context(
                leader_lock(core.database_url, Role.PROJECTOR).hold(wait_s=MAINTENANCE_WAIT_S)
            )
        except LeadershipTakenError:
            if must_lead:
                raise
            leading = False
        runner = ProjectionRunner(core.store, core.pool, all_projections(), factories=FACTORIES)
        if leading:
            await runner.setup()
        controller = ReadModelController(
            runner, core.read_model_commands, core.pool, FACTORIES, VIEW_MODELS
        )
        yield LocalReadModels(
            runner=runner,
            controller=controller,
            commands=core.read_model_commands,
            views=core.views,
            facts=core.projection_facts,
            store=core.store,
            ingest=core.ingest,
            database_url=str(core.pool.conninfo),  # the URL `open_core` gave the pool
            leading=leading,
        )
