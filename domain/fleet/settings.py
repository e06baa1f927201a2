"""Fleet-wide settings (one aggregate): deployment limit and global mutation interval."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.shared.errors import InvalidError
from domain.shared.meta import CommandMeta

SETTINGS_ID = uuid5(NAMESPACE_URL, "https://decnet-es/settings")
DEFAULT_DEPLOYMENT_LIMIT = 10
DEFAULT_MUTATION_INTERVAL_MINUTES = 30
DEPLOYMENT_LIMIT_RANGE = (1, 500)


class Settings(Aggregate):
    """The singleton settings aggregate; created on first change, defaults until then."""

    class Initialised(Aggregate.Created):
        meta: CommandMeta

    class DeploymentLimitSet(Aggregate.Event):
        meta: CommandMeta
        deployment_limit: int

        def apply(self, aggregate: Settings) -> None:
            aggregate.deployment_limit = self.deployment_limit

    class GlobalMutationIntervalSet(Aggregate.Event):
        meta: CommandMeta
        minutes: int

        def apply(self, aggregate: Settings) -> None:
            aggregate.global_mutation_interval_minutes = self.minutes

    def __init__(self, meta: CommandMeta) -> None:
        self.deployment_limit = DEFAULT_DEPLOYMENT_LIMIT
        self.global_mutation_interval_minutes = DEFAULT_MUTATION_INTERVAL_MINUTES

    @classmethod
    def initialise(cls, meta: CommandMeta) -> Settings:
        """Start the settings stream with defaults."""
        return cls._create(cls.Initialised, id=SETTINGS_ID, meta=meta)

    def set_deployment_limit(self, meta: CommandMeta, limit: int) -> None:
        """Cap how many deckies the fleet may hold."""
        low, high = DEPLOYMENT_LIMIT_RANGE
        if not low <= limit <= high:
            raise InvalidError(f"deployment_limit must be between {low} and {high}")
        self.trigger_event(self.DeploymentLimitSet, meta=meta, deployment_limit=limit)

    def set_global_mutation_interval(self, meta: CommandMeta, minutes: int) -> None:
        """How often deckies without their own interval are mutated."""
        if minutes < 1:
            raise InvalidError("global_mutation_interval must be at least one minute")
        self.trigger_event(self.GlobalMutationIntervalSet, meta=meta, minutes=minutes)
