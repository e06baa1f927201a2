"""The PostgreSQL application recorder, inserting without pipeline mode or composite arrays.

The library sends LOCK, NOTIFY and one INSERT of an array of composite values in a pipeline.
With our ~300 KB batch events we saw that pipeline deadlock for good (psycopg issue #685's
pattern: the client waiting in `Pipeline.sync`, the server in `ClientRead`), and the composite
array is escaped as text in Python (the GIL-bound hot spot of a flood). Here the same lock and
notification run as plain statements and each event is one binary-parameter INSERT ... RETURNING
in the same transaction: same table, same ordering guarantee, same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier


class SerialPostgresApplicationRecorder(PostgresApplicationRecorder):
    """`insert_events` as sequential statements in one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._insert_one = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %b) RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return []
            self._lock_table(curs)
            self._notify_channel(curs)
            ids: list[int] = []
            for event in stored_events:
                curs.execute(
                    self._insert_one,
                    (event.originator_id, event.originator_version, event.topic, event.state),
                )
                row = curs.fetchone()
                assert row is not None, "INSERT ... RETURNING returns the row"
                ids.append(int(row["notification_id"]))
            return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query and rows, fetched in binary.

        In text the server hex-encodes each ~300 KB batch state and the client decodes the hex
        back, holding the GIL: a page of 200 batch events cost ~0.25 s of Python and more of
        PostgreSQL, for every model reading it. Binary sends the bytes as they are stored.
        """
        where: list[Composed | SQL] = []
        params: list[int | str | Sequence[str]] = []
        if start is not None:
            where.append(SQL("notification_id>=%s" if inclusive_of_start else "notification_id>%s"))
            params.append(start)
        if stop is not None:
            where.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            where.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        statement = SQL("SELECT * FROM {schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        if where:
            statement += SQL(" WHERE ") + SQL(" AND ").join(where)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(binary=True) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]
