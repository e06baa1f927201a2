"""Stable, documented names of every stored event type (never a Python path).

The stored topic embeds a module path, which a refactor may move (topics are then aliased);
the names here are what the history API, the audit trail and the documentation use.
"""

from __future__ import annotations

from domain.fleet.fleet import Fleet
from domain.fleet.settings import Settings
from domain.history.tamper import EvidenceExport, TreeCheckpoint
from domain.identity.login import LoginAttempt
from domain.identity.user import User, UsernameClaim
from domain.observations.batch import InteractionBatch, ObservationsPurge
from domain.readmodels.control import ReadModelControl
from domain.shared.topics import stored_topics

EVENT_TYPES: dict[type, str] = {
    User.Registered: "user.registered",
    User.PasswordChanged: "user.password_changed",
    User.PasswordReset: "user.password_reset",
    User.RoleChanged: "user.role_changed",
    User.Deleted: "user.deleted",
    User.TokenRevoked: "user.token_revoked",
    UsernameClaim.Claimed: "user.username_claimed",
    UsernameClaim.Released: "user.username_released",
    UsernameClaim.Reclaimed: "user.username_reclaimed",
    LoginAttempt.Succeeded: "user.logged_in",
    LoginAttempt.Failed: "user.login_failed",
    Settings.Initialised: "settings.initialised",
    Settings.DeploymentLimitSet: "settings.deployment_limit_set",
    Settings.GlobalMutationIntervalSet: "settings.global_mutation_interval_set",
    Fleet.Started: "fleet.started",
    Fleet.FleetNetworkSet: "fleet.network_set",
    Fleet.DeckyDeployed: "fleet.decky_deployed",
    Fleet.DeckyMutated: "fleet.decky_mutated",
    Fleet.MutationIntervalSet: "fleet.mutate_interval_set",
    Fleet.MutationIntervalCleared: "fleet.mutate_interval_cleared",
    Fleet.DeckyTornDown: "fleet.decky_torn_down",
    Fleet.RuntimeStatusChanged: "fleet.runtime_status_changed",
    InteractionBatch.InteractionsObserved: "observations.batch_observed",
    ObservationsPurge.ObservationsPurged: "observations.purged",
    ReadModelControl.Initialised: "read_models.control_initialised",
    ReadModelControl.RebuildRequested: "read_models.rebuild_requested",
    ReadModelControl.RebuildCompleted: "read_models.rebuild_completed",
    ReadModelControl.ViewCreated: "read_models.view_created",
    ReadModelControl.ViewDropped: "read_models.view_dropped",
    TreeCheckpoint.Signed: "audit.checkpoint_signed",
    EvidenceExport.Exported: "audit.evidence_exported",
}
TYPE_NAMES = frozenset(EVENT_TYPES.values())


def type_name(event: object) -> str:
    """The stable name of an event's type."""
    return EVENT_TYPES.get(type(event), f"unknown.{type(event).__qualname__}")


def topics_of_names(names: set[str]) -> list[str]:
    """Every topic the named types may be stored under (moved modules included)."""
    return list(stored_topics(*(cls for cls, name in EVENT_TYPES.items() if name in names)))
