"""Makes the read models match the control stream: rebuilds and as-of views (a process manager).

Reconciles, rather than replays: each pass loads the control aggregate (a short stream) and
compares it with what the database holds — shadows in the positions table, views in the
registry — so a restart at any point resumes or finishes what was under way, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
import structlog
from psycopg_pool import AsyncConnectionPool

from application.readmodels.commands import ReadModelCommands
from application.wakeup import Wakeup, repeat
from domain.readmodels.control import ReadModelControl, ViewSpec
from projections.base import Projection
from projections.positions import read_position
from projections.runner import ProjectionRunner
from projections.schema import view_schema
from projections.views import ViewRegistry, view_key

log = structlog.get_logger()
POLL_S = 1.0


class ReadModelController:
    """Starts requested rebuilds and records their completion; builds and drops views."""

    def __init__(
        self,
        runner: ProjectionRunner,
        commands: ReadModelCommands,
        pool: AsyncConnectionPool[Any],
        factories: dict[str, Callable[[str], Projection]],
        view_models: Sequence[str],
    ) -> None:
        self._runner = runner
        self._commands = commands
        self._pool = pool
        self._registry = ViewRegistry(pool)
        self._factories = factories
        self._view_models = tuple(view_models)
        # What a view's tables must have been built by; any other version is rebuilt (ADR 0011).
        self._view_versions = {
            m: factories[m](view_schema("versions")).version for m in view_models
        }
        self._wakeup = Wakeup()

    def wake(self, *_: Any) -> None:
        """Thread-safe: the control stream or a rebuild changed; reconcile now."""
        self._wakeup.wake()

    async def run(self) -> None:
        """Reconcile until cancelled."""
        self._wakeup.bind()
        await repeat(self.reconcile, self._wakeup, POLL_S, "read_model_control_failed")

    async def reconcile(self) -> None:
        """One pass over rebuilds and views."""
        control: ReadModelControl = await anyio.to_thread.run_sync(self._commands.control)
        await self._rebuilds(control)
        await self._views(control)

    async def _rebuilds(self, control: ReadModelControl) -> None:
        for name, request in control.rebuilding.items():
            if name in self._runner.rebuilding():
                continue
            async with self._pool.connection() as conn:
                live = await read_position(conn, name)
            if live is not None and live.request == request:  # swapped in: record it once
                await anyio.to_thread.run_sync(self._commands.complete_rebuild, name, live.position)
                log.info("projection_rebuilt", projection=name, position=live.position)
            else:
                await self._runner.request_rebuild(name, request)

    async def _views(self, control: ReadModelControl) -> None:
        registered = {row.label: row for row in await self._registry.rows()}
        for label, spec in control.views.items():
            row = registered.get(label)
            if row is None:
                await self._registry.register(
                    label,
                    spec.until_position,
                    spec.until_time,
                    spec.created_by,
                    spec.created_at,
                    self._view_versions,
                )
                await self._build(label, spec)
            elif row.versions != self._view_versions:
                # Tables of another version of a model's code: its reads would fail or mislead.
                await self._rebuild_view(label, row.versions)
                await self._build(label, spec)
            elif row.state == "building":
                await self._build(label, spec)
        for label in registered.keys() - control.views.keys():
            await self._drop(label)

    async def _build(self, label: str, spec: ViewSpec) -> None:
        """Start (or resume) a view's models; mark it ready when all reached its position."""
        keys = [view_key(label, model) for model in self._view_models]
        for model, key in zip(self._view_models, keys, strict=True):
            if key not in self._runner.slots:
                projection = self._factories[model](view_schema(label))
                await self._runner.add_view_slot(key, projection, spec.until_position)
        errors = [self._runner.errors[k] for k in keys if k in self._runner.errors]
        if errors:
            await self._finish(label, keys, "failed", errors[0])
        elif all(self._runner.positions.get(k, 0) >= spec.until_position for k in keys):
            for key in keys:  # bulk-loaded without secondary indexes: build them once, last
                await self._runner.index_slot(key, vacuum=False)
            await self._runner.vacuum_schema(view_schema(label))  # one pass for every model
            await self._finish(label, keys, "ready")

    async def _rebuild_view(self, label: str, built_by: dict[str, int] | None) -> None:
        for model in self._view_models:
            await self._runner.remove_slot(view_key(label, model))
        await self._registry.restart(label, self._view_versions)
        log.info("view_rebuilding", label=label, built_by=built_by, now=self._view_versions)

    async def _finish(
        self, label: str, keys: list[str], state: str, error: str | None = None
    ) -> None:
        for key in keys:
            await self._runner.remove_slot(key)
        await self._registry.finish(label, state, error)
        log.info("view_finished", label=label, state=state, error=error)

    async def _drop(self, label: str) -> None:
        for model in self._view_models:
            await self._runner.remove_slot(view_key(label, model))
        await self._registry.forget(label)
        log.info("view_dropped", label=label)
