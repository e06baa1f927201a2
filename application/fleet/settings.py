"""Commands on fleet-wide settings."""

from __future__ import annotations

from collections.abc import Callable

from application.store import EventStoreApp, Position
from domain.fleet.settings import SETTINGS_ID, Settings
from domain.shared.meta import CommandMeta


class SettingsCommands:
    """Set the deployment limit and the global mutation interval."""

    def __init__(self, store: EventStoreApp) -> None:
        self._store = store

    def current(self) -> Settings:
        """The settings aggregate, or defaults if nothing was ever set."""
        if SETTINGS_ID in self._store.repository:
            settings: Settings = self._store.repository.get(SETTINGS_ID)
            return settings
        return Settings.initialise(CommandMeta())

    def set_deployment_limit(self, meta: CommandMeta, limit: int) -> Position:
        """Cap the fleet size."""
        return self._change(lambda settings: settings.set_deployment_limit(meta, limit))

    def set_global_mutation_interval(self, meta: CommandMeta, minutes: int) -> Position:
        """Set how often deckies without their own interval mutate."""
        return self._change(lambda settings: settings.set_global_mutation_interval(meta, minutes))

    def _change(self, change: Callable[[Settings], None]) -> Position:
        def decide() -> tuple[None, list[Settings]]:
            settings = self.current()
            change(settings)
            return None, [settings]

        return self._store.save_decided(decide, "the settings")[1]
