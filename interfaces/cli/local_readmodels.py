"""The read-model machinery of a maintenance command run with no server: core, runner, views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from application.observations.ingest import IngestCommands
from application.readmodels.commands import ReadModelCommands
from application.readmodels.status import StatusSources
from infrastructure.settings import AppSettings
from interfaces.bootstrap import open_core
from interfaces.status import status_sources
from projections.catalog import FACTORIES, VIEW_MODELS, all_projections
from projections.controller import ReadModelController
from projections.runner import ProjectionRunner
from projections.status import PostgresProjectionFacts
from projections.views import ViewRegistry, view_key

POLL_S = 0.2


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
async def open_local(settings: AppSettings) -> AsyncIterator[LocalReadModels]:
    """Only what read-model maintenance needs: no runtime, no collector, no admin bootstrap."""
    async with open_core(settings) as core:
        runner = ProjectionRunner(core.store, core.pool, all_projections(), factories=FACTORIES)
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
        )
