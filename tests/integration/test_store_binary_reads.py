"""The recorder's binary `select_notifications` returns what the library's text query returns."""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder

from application.observations.ingest import IngestCommands
from application.store import EventStoreApp
from infrastructure.eventstore.recorder import SerialPostgresApplicationRecorder
from tests.integration.observations_fixtures import event_store, record

__all__ = ["event_store"]  # the fixture, re-exported for pytest


def test_binary_reads_equal_the_library_s(event_store: EventStoreApp) -> None:
    """Every start, stop, topic filter and limit: the same notifications, field by field."""
    recorder = event_store.recorder
    assert isinstance(recorder, SerialPostgresApplicationRecorder)
    ingest = IngestCommands(event_store)
    for i in range(4):
        ingest.append([record(i), record(i + 10)], [], None)
    head = event_store.head()
    library = PostgresApplicationRecorder.select_notifications
    topics = sorted({n.topic for n in recorder.select_notifications(None, 100)})
    assert topics
    for start in (None, 0, 1, 2):
        for stop in (None, 2, head):
            for chosen in ((), tuple(topics[:1]), tuple(topics)):
                for inclusive in (True, False):
                    for limit in (1, 3, 100):
                        ours = recorder.select_notifications(
                            start, limit, stop, chosen, inclusive_of_start=inclusive
                        )
                        theirs = library(
                            recorder, start, limit, stop, chosen, inclusive_of_start=inclusive
                        )
                        assert ours == theirs
                        assert all(type(n.state) is bytes for n in ours)
