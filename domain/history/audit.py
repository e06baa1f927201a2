"""Which stored events are administrative acts or authentication outcomes, and how they read.

The audit trail is a projection of the event history: each audited event becomes one entry
naming the action, its target and its outcome; the actor, client IP and request id come from
the event's command metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.fleet.durations import format_duration
from domain.fleet.fleet import Fleet
from domain.fleet.settings import Settings
from domain.history.tamper import EvidenceExport
from domain.identity.login import LoginAttempt
from domain.identity.user import User
from domain.observations.batch import ObservationsPurge
from domain.readmodels.control import ReadModelControl
from domain.shared.text import counted

NameOf = Callable[[UUID], str | None]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited act: what, to what, how it ended, anything worth adding."""

    action: str
    target: str | None
    outcome: str = "success"
    detail: str = ""
    actor: UUID | None = None  # when the act's actor is not the command's (none so far)


def _user(event: Any, name_of: NameOf) -> str | None:
    return name_of(event.originator_id)


def audit_entry(event: Any, name_of: NameOf) -> list[AuditEntry]:
    """The audit entries of one stored event (none for events that are not audited)."""
    match event:
        case User.Registered():
            return [AuditEntry("user_created", event.username, detail=f"role {event.role}")]
        case User.PasswordChanged():
            return [AuditEntry("password_changed", _user(event, name_of))]
        case User.PasswordReset():
            return [AuditEntry("password_reset", _user(event, name_of))]
        case User.RoleChanged():
            return [AuditEntry("role_changed", _user(event, name_of), detail=f"to {event.role}")]
        case User.Deleted():
            return [AuditEntry("user_deleted", _user(event, name_of))]
        case User.TokenRevoked():
            return [AuditEntry("logout", _user(event, name_of))]
        case LoginAttempt.Succeeded():
            return [AuditEntry("login", event.username)]
        case LoginAttempt.Failed():
            return [AuditEntry("login_failed", event.username, outcome="failure")]
        case Settings.DeploymentLimitSet():
            return [AuditEntry("deployment_limit_set", None, detail=str(event.deployment_limit))]
        case Settings.GlobalMutationIntervalSet():
            detail = format_duration(event.minutes)
            return [AuditEntry("global_mutation_interval_set", None, detail=detail)]
        case Fleet.DeckyDeployed():
            return [AuditEntry("fleet_deployed", event.spec.name, detail=event.spec.ip)]
        case Fleet.DeckyMutated():
            services = ", ".join(event.new_services)
            return [AuditEntry("decky_mutated", event.decky, detail=f"{event.trigger}: {services}")]
        case Fleet.MutationIntervalSet():
            detail = format_duration(event.minutes)
            return [AuditEntry("mutate_interval_set", event.decky, detail=detail)]
        case Fleet.MutationIntervalCleared():
            return [AuditEntry("mutate_interval_set", event.decky, detail="global")]
        case Fleet.DeckyTornDown():
            return [AuditEntry("decky_torn_down", event.decky)]
        case ObservationsPurge.ObservationsPurged():
            return [AuditEntry("observations_purged", None)]
        case ReadModelControl.RebuildRequested():
            return [AuditEntry("projection_rebuilt", event.name, outcome="requested")]
        case ReadModelControl.RebuildCompleted():
            return [AuditEntry("projection_rebuilt", event.name, detail=f"at {event.position}")]
        case ReadModelControl.ViewCreated():
            until = event.until_time or f"position {event.until_position}"
            return [AuditEntry("view_created", event.label, detail=f"until {until}")]
        case ReadModelControl.ViewDropped():
            return [AuditEntry("view_dropped", event.label)]
        case EvidenceExport.Exported():
            counts = ", ".join(
                counted(n, noun)
                for n, noun in (
                    (event.events, "event"),
                    (event.records, "record"),
                    (event.artifacts, "artifact"),
                )
            )
            detail = f"{event.attacker_ip}: {counts} against tree size {event.tree_size}"
            return [AuditEntry("evidence_exported", event.attacker_uuid, detail=detail)]
    return []


AUDITED_TYPES = (
    "user.registered",
    "user.password_changed",
    "user.password_reset",
    "user.role_changed",
    "user.deleted",
    "user.token_revoked",
    "user.logged_in",
    "user.login_failed",
    "settings.deployment_limit_set",
    "settings.global_mutation_interval_set",
    "fleet.decky_deployed",
    "fleet.decky_mutated",
    "fleet.mutate_interval_set",
    "fleet.mutate_interval_cleared",
    "fleet.decky_torn_down",
    "observations.purged",
    "read_models.rebuild_requested",
    "read_models.rebuild_completed",
    "read_models.view_created",
    "read_models.view_dropped",
    "audit.evidence_exported",
)
