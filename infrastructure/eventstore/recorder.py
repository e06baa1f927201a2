"""The PostgreSQL application recorder without psycopg's pipeline mode.

The library sends LOCK, NOTIFY and the INSERT of the stored events in one pipeline. With our
~300 KB batch events we saw that deadlock (psycopg issue #685's pattern): the client waiting in
`Pipeline.sync`, the server in `ClientRead`, the ingestion thread stuck for good. One event per
save needs no pipelining: the same statements run one after another in one transaction, with
the library's own SQL, locking and notification-id fetching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry


class SerialPostgresApplicationRecorder(PostgresApplicationRecorder):
    """`insert_events` as plain sequential statements in one transaction."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return []
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
