"""One behaviour suite for the event store as each environment configures it: in memory (POPO, as
the unit tests run it) and PostgreSQL (as `Database.event_store_env` configures production, with
our serial recorder and the msgspec mapper).

What the application relies on: every save returns the global position it wrote, positions only
grow, `read` honours `after`, `limit`, `topics` and `stop`, a second aggregate with an existing id
is refused with `IntegrityError` (batch idempotency), and events come back as they went in,
older shapes upcast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.identity.users import UserCommands
from application.observations.ingest import IngestCommands
from application.store import EventStoreApp, IntegrityError
from domain.identity.roles import Role
from domain.identity.user import User
from domain.observations.batch import InteractionBatch, JournalSpan
from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta
from infrastructure.database import Database
from tests.unit.fleet.fakes import MEMORY_ENV, memory_store
from tests.unit.identity.fakes import FakeHasher


class Note(Aggregate):
    """A test aggregate whose creation event is at version 2 (v1 had no `words`)."""

    class Written(Aggregate.Created):
        text: str
        words: int
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["words"] = len(state["text"].split())

    class Edited(Aggregate.Event):
        text: str

        def apply(self, aggregate: Note) -> None:
            aggregate.text = self.text

    @event(Written)
    def __init__(self, text: str, words: int) -> None:
        self.text = text
        self.words = words

    def edit(self, text: str) -> None:
        """Replace the text."""
        self.trigger_event(self.Edited, text=text)


def note(text: str = "a few words here") -> Note:
    return Note(text=text, words=len(text.split()))


def records(count: int) -> list[InteractionRecord]:
    """Records with every field set, as the collector journals them."""
    return [
        InteractionRecord(
            timestamp=datetime(2026, 4, 18, 2, 0, i % 60, 123_456, tzinfo=UTC),
            decky="files-01",
            service="ssh",
            event_type="command",
            attacker_ip="192.0.2.7",
            msg=f"ls -la ünï {i}",
            fields={"command": "ls -la", "n": str(i)},
            raw_line=f"<134>1 ... {i}",
        )
        for i in range(count)
    ]


class EventStoreContract:
    """The store's promises; subclasses provide a fresh, empty `store`."""

    def test_an_empty_store_has_head_zero_and_reads_nothing(self, store: EventStoreApp) -> None:
        """Before any save the head is 0 and a read returns nothing."""
        assert store.head() == 0
        assert store.read(0, 10) == []

    def test_saves_return_strictly_increasing_positions_and_move_the_head(
        self, store: EventStoreApp
    ) -> None:
        """Each save returns a position above the previous one; the head is the last."""
        positions = [store.save_all(note(f"note {i}")) for i in range(5)]
        assert positions[0] >= 1
        assert positions == sorted(set(positions))
        assert store.head() == positions[-1]

    def test_a_save_of_several_events_returns_the_highest(self, store: EventStoreApp) -> None:
        """Saving two aggregates with three events returns the position of the last of them."""
        first, second = note(), note()
        second.edit("edited once")
        position = store.save_all(first, second)
        ids = [n.id for n in store.read(0, 10)]
        assert len(ids) == 3
        assert position == max(ids) == store.head()

    def test_saving_nothing_returns_zero(self, store: EventStoreApp) -> None:
        """An aggregate with no pending events writes nothing and returns 0."""
        saved = note()
        store.save_all(saved)
        head = store.head()
        assert store.save_all(saved) == 0
        assert store.head() == head

    def test_listeners_hear_each_position_saved(self, store: EventStoreApp) -> None:
        """`on_saved` listeners get the position every save returned, in order."""
        heard: list[int] = []
        store.on_saved(heard.append)
        positions = [store.save_all(note()) for _ in range(3)]
        assert heard == positions

    def test_read_honours_after_limit_and_stop(self, store: EventStoreApp) -> None:
        """`read(after, limit, stop=…)` gives ids above `after`, at most `limit`, up to `stop`."""
        positions = [store.save_all(note()) for _ in range(6)]
        assert [n.id for n in store.read(0, 100)] == positions
        assert [n.id for n in store.read(positions[1], 2)] == positions[2:4]
        assert [n.id for n in store.read(positions[1], 100, stop=positions[4])] == positions[2:5]
        assert store.read(positions[-1], 100) == []

    def test_read_honours_topics(self, store: EventStoreApp) -> None:
        """Only notifications of the given topics are read; their ids keep the global order."""
        edited = note()
        store.save_all(edited)
        edited.edit("changed")
        edit_position = store.save_all(edited)
        users = UserCommands(store, FakeHasher())
        users.register(CommandMeta(), "alice", "password-1", Role.VIEWER)
        edits = store.read(0, 100, topics=[get_topic(Note.Edited)])
        assert [(n.id, n.topic) for n in edits] == [(edit_position, get_topic(Note.Edited))]
        topics = [get_topic(Note.Written), get_topic(User.Registered)]
        chosen = store.read(0, 100, topics=topics)
        assert {n.topic for n in chosen} == set(topics)
        assert [n.id for n in chosen] == sorted(n.id for n in chosen)

    def test_a_second_aggregate_with_a_taken_id_is_refused(self, store: EventStoreApp) -> None:
        """Creating an aggregate whose id exists raises IntegrityError and writes nothing."""
        span = JournalSpan("seg-1.jnl", 0, 100)
        store.save_all(InteractionBatch.observe(records(2), [], span))
        head = store.head()
        with pytest.raises(IntegrityError):
            store.save_all(InteractionBatch.observe(records(2), [], span), note())
        assert store.head() == head

    def test_a_batch_appended_twice_is_stored_once(self, store: EventStoreApp) -> None:
        """Ingest's idempotency: the same journal span appended again returns None."""
        ingest = IngestCommands(store)
        span = JournalSpan("seg-1.jnl", 4096, 8192)
        first = ingest.append(records(3), [], span)
        assert first == store.head()
        assert ingest.append(records(3), [], span) is None
        assert store.head() == first
        assert ingest.committed_span("seg-1.jnl", 4096) == span

    def test_events_come_back_as_they_went_in(self, store: EventStoreApp) -> None:
        """Loaded aggregates and decoded notifications equal what was saved, nested types too."""
        batch = InteractionBatch.observe(records(3), [], JournalSpan("seg-2.jnl", 0, 10))
        store.save_all(batch)
        loaded: InteractionBatch = store.repository.get(batch.id)
        assert loaded.span == JournalSpan("seg-2.jnl", 0, 10)
        (notification,) = store.read(0, 1)
        decoded = store.mapper.to_domain_event(notification)
        assert isinstance(decoded, InteractionBatch.InteractionsObserved)
        assert decoded.records == records(3)
        assert decoded.timestamp.tzinfo is not None

    def test_an_old_event_shape_is_upcast_on_load(self, store: EventStoreApp) -> None:
        """A v1 event stored without `words` loads with the field the v1→v2 upcast gives it."""
        current = note("three small words")
        stored = store.mapper.to_stored_event(current.collect_events()[0])
        state = msgspec.json.decode(stored.state)
        assert state.pop("class_version") == 2
        del state["words"]
        v1 = StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=msgspec.json.encode(state),
        )
        store.recorder.insert_events([v1])
        loaded: Note = store.repository.get(current.id)
        assert (loaded.text, loaded.words) == ("three small words", 3)

    def test_an_upcast_aggregate_saves_at_the_current_version(self, store: EventStoreApp) -> None:
        """New events of an aggregate are written at the current class version."""
        current = note("one two")
        store.save_all(current)
        (notification,) = store.read(0, 1, topics=[get_topic(Note.Written)])
        assert msgspec.json.decode(notification.state)["class_version"] == 2


class TestMemoryEventStore(EventStoreContract):
    """The contract on the POPO store the unit tests use (production mapper)."""

    @pytest.fixture
    def store(self) -> EventStoreApp:
        return memory_store()


@pytest.mark.external_pg
class TestPostgresEventStore(EventStoreContract):
    """The contract on PostgreSQL as production configures it (serial recorder, msgspec)."""

    @pytest.fixture
    def store(self, pg_store: EventStoreApp) -> EventStoreApp:
        return pg_store


def test_both_environments_name_the_same_mapper() -> None:
    """Unit tests and production decode events with one mapper, so this suite covers both."""
    production = Database("postgresql://postgres@127.0.0.1:5432/decnet").event_store_env()
    assert production["MAPPER_TOPIC"] == MEMORY_ENV["MAPPER_TOPIC"]
    assert type(memory_store().mapper).__name__ == "MsgspecMapper"
