"""The history's pure rules: every event type has a stable name, secrets never show, acts read."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate

import domain.fleet.fleet
import domain.fleet.settings
import domain.identity.user
import domain.observations.batch
import domain.readmodels.control
from domain.history.audit import AUDITED_TYPES, audit_entry
from domain.history.catalog import EVENT_TYPES, TYPE_NAMES, topics_of_names, type_name
from domain.history.redaction import REDACTED, event_data, without_nul
from domain.history.summary import batch_digest, summarize
from domain.history.tamper import EvidenceExport
from domain.identity.login import LoginAttempt
from domain.identity.roles import Role
from domain.identity.user import User
from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta
from domain.shared.topics import MOVED_MODULES

MODULES = (
    domain.fleet.fleet,
    domain.fleet.settings,
    domain.identity.user,
    domain.observations.batch,
    domain.readmodels.control,
)


def _event_classes() -> set[type]:
    found: set[type] = set()
    for module in MODULES:
        for _, aggregate in inspect.getmembers(module, inspect.isclass):
            if issubclass(aggregate, Aggregate) and aggregate is not Aggregate:
                for name, member in inspect.getmembers(aggregate, inspect.isclass):
                    # The library gives each aggregate `Event` and `Created` bases of its own.
                    if name in ("Event", "Created") or not issubclass(member, Aggregate.Event):
                        continue
                    if member.__qualname__.startswith(aggregate.__qualname__ + "."):
                        found.add(member)
    return found


def test_every_stored_event_type_has_a_stable_dotted_name() -> None:
    """No event class of the domain is left without a documented `area.fact` name."""
    assert _event_classes() <= set(EVENT_TYPES)
    assert all(name.count(".") == 1 and name == name.lower() for name in TYPE_NAMES)
    assert len(TYPE_NAMES) == len(EVENT_TYPES)


def test_audited_types_exist_and_resolve_to_topics() -> None:
    """Every audited type is a known type with a stored topic (moved types have two)."""
    assert set(AUDITED_TYPES) <= TYPE_NAMES
    topics = topics_of_names(set(AUDITED_TYPES))
    current = {t for t in topics if not t.startswith(tuple(f"{m}:" for m in MOVED_MODULES))}
    assert len(current) == len(AUDITED_TYPES)


def test_password_hashes_token_ids_and_decoy_secrets_are_redacted() -> None:
    """Hashes, token ids and secret-looking service settings never show; the rest does."""
    state = {
        "meta": {"actor_id": None},
        "timestamp": "2026-01-01T00:00:00Z",
        "originator_topic": "domain.identity.user:User",
        "username": "alice",
        "password_hash": "$argon2id$v=19$...",
        "jti": "abc",
        "spec": {
            "name": "web",
            "service_config": {"ssh": {"password": "toor", "users": "a:b", "banner": "hi"}},
        },
    }
    data = event_data(state)
    assert data["password_hash"] == REDACTED
    assert data["jti"] == REDACTED
    assert data["spec"]["service_config"]["ssh"] == {
        "password": REDACTED,
        "users": REDACTED,
        "banner": "hi",
    }
    assert data["username"] == "alice"
    assert {"meta", "timestamp", "originator_topic"}.isdisjoint(data)


def test_nul_is_removed_everywhere() -> None:
    """Stored JSON cannot hold NUL: keys, values and nested lists lose it."""
    assert without_nul({"a\x00": ["x\x00y", {"k": "v\x00"}]}) == {"a": ["xy", {"k": "v"}]}


def test_a_batch_digest_names_its_span_deckies_and_attackers() -> None:
    """Count, first/last time, deckies and attacker IPs in first-seen order."""
    t = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)
    records = [
        InteractionRecord(t.replace(minute=m), d, "ssh", "auth", ip)
        for m, d, ip in ((5, "b", "10.0.0.2"), (1, "a", None), (9, "b", "10.0.0.1"))
    ]
    digest = batch_digest(records)
    assert digest["records"] == 3
    assert (digest["first"], digest["last"]) == ("2026-04-18T02:01:00Z", "2026-04-18T02:09:00Z")
    assert digest["deckies"] == ["b", "a"]
    assert digest["attacker_ips"] == ["10.0.0.2", "10.0.0.1"]
    line = summarize("observations.batch_observed", {"digest": digest}, None)
    assert line == "3 interaction records from 2 attacker IPs on 2 deckies"


def test_user_acts_read_as_audit_entries_naming_their_target() -> None:
    """A role change names the user by the username the trail knows; creations name theirs."""
    meta = CommandMeta(actor_id=uuid4(), client_ip="10.0.0.9", request_id="r1")
    user = User.register(meta, "bob", "hash", Role.VIEWER, True)
    user.change_role(meta, Role.ADMIN)
    created, changed = user.collect_events()
    names = {user.id: "bob"}
    assert [e.action for e in audit_entry(created, names.get)] == ["user_created"]
    entry = audit_entry(changed, names.get)[0]
    assert (entry.action, entry.target, entry.detail) == ("role_changed", "bob", "to admin")
    assert type_name(changed) == "user.role_changed"


def test_an_evidence_export_counts_what_it_held_in_the_right_number() -> None:
    """One artifact reads `1 artifact`; none or several take the plural."""
    meta = CommandMeta(actor_id=uuid4(), client_ip="10.0.0.9", request_id="r1")
    uuid = str(uuid4())
    [one] = EvidenceExport.record(meta, uuid, "1.2.3.4", 9, (1, 3, 1)).collect_events()
    [none] = EvidenceExport.record(meta, uuid, "1.2.3.4", 9, (2, 0, 0)).collect_events()
    [entry] = audit_entry(one, {}.get)
    assert (entry.action, entry.target) == ("evidence_exported", uuid)
    assert entry.detail == "1.2.3.4: 1 event, 3 records, 1 artifact against tree size 9"
    assert audit_entry(none, {}.get)[0].detail == (
        "1.2.3.4: 2 events, 0 records, 0 artifacts against tree size 9"
    )


def test_login_outcomes_read_as_audit_entries() -> None:
    """A login names its user; a failed one names the username tried and fails."""
    meta = CommandMeta(actor_id=None, client_ip="10.0.0.9", request_id="r1")
    [ok] = LoginAttempt.succeeded(meta, uuid4(), "bob").collect_events()
    [bad] = LoginAttempt.failed(meta, "mallory").collect_events()
    assert [(e.action, e.target, e.outcome) for e in audit_entry(ok, {}.get)] == [
        ("login", "bob", "success")
    ]
    assert [(e.action, e.target, e.outcome) for e in audit_entry(bad, {}.get)] == [
        ("login_failed", "mallory", "failure")
    ]
    assert (type_name(ok), type_name(bad)) == ("user.logged_in", "user.login_failed")


def test_the_event_catalogue_documents_every_type_name() -> None:
    """docs/events.md lists every stable type name (docs move with the code)."""
    from pathlib import Path

    catalogue = (Path(__file__).parents[3] / "docs" / "events.md").read_text()
    assert {name for name in TYPE_NAMES if f"`{name}`" not in catalogue} == set()
