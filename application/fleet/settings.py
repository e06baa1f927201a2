"""Commands on fleet-wide settings."""

from __future__ import annotations

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
        settings = self.current()
        settings.set_deployment_limit(meta, limit)
        return self._store.save_all(settings)

    def set_global_mutation_interval(self, meta: CommandMeta, minutes: int) -> Position:
        """Set how often deckies without their own interval mutate."""
        settings = self.current()
        settings.set_global_mutation_interval(meta, minutes)
        return self._store.save_all(settings)
