"""When events were recorded: the time of a position, and the position at a time."""

from __future__ import annotations

from datetime import datetime

import msgspec

from application.store import EventStoreApp


class _Stamped(msgspec.Struct):
    """Only the recorded time of a stored event's state (other fields are skipped)."""

    timestamp: datetime


_decode = msgspec.json.Decoder(_Stamped).decode


def recorded_at(store: EventStoreApp, position: int) -> datetime | None:
    """When the first event after `position` was recorded (None when there is none)."""
    notes = store.read(position, 1)
    if not notes:
        return None
    return _decode(notes[0].state).timestamp


def position_at(store: EventStoreApp, moment: datetime) -> int:
    """The last position recorded at or before `moment` (0 when none was).

    Events are appended in the order they are recorded, so a binary search over positions
    finds the boundary in O(log n) reads; processes whose clocks disagree by a few
    milliseconds may blur it by as much.
    """
    low, high = 0, store.head()
    while low < high:
        middle = (low + high + 1) // 2
        stamp = recorded_at(store, middle - 1)
        if stamp is not None and stamp <= moment:
            low = middle
        else:
            high = middle - 1
    # The first event at or after `low` was recorded in time and the one after `low` was not,
    # so an event holds position `low` itself (ids may have gaps elsewhere).
    return low
