"""Every read model of this build, and the ones an as-of view holds."""

from __future__ import annotations

from collections.abc import Callable

from projections.attackers import AttackersProjection
from projections.audit import AuditProjection
from projections.base import Projection
from projections.fleet import FleetProjection
from projections.histogram import HistogramProjection
from projections.history import HistoryProjection
from projections.logs import LogsProjection
from projections.merkle import MerkleProjection
from projections.schema import LIVE, Namespace
from projections.settings import SettingsProjection
from projections.users import UsersProjection

# In setup order; each factory binds a model to a schema.
FACTORIES: dict[str, Callable[[str], Projection]] = {
    "users": UsersProjection,
    "settings": SettingsProjection,
    "logs": LogsProjection,
    "histogram": HistogramProjection,
    "attackers": AttackersProjection,
    "fleet": FleetProjection,
    "history": HistoryProjection,
    "audit": AuditProjection,
    "merkle": MerkleProjection,
}
# The models the read routes answer from: what an as-of view rebuilds.
VIEW_MODELS = ("settings", "logs", "histogram", "attackers", "fleet")


def all_projections(ns: Namespace = LIVE) -> list[Projection]:
    """Every read model, bound to its schema in `ns`."""
    return [factory(ns.schema(name)) for name, factory in FACTORIES.items()]
