"""Stored event topics, and the aliases that keep old topics readable after a module moves.

The event store records each event's topic as `module:Class.Event`, so moving a domain module
changes the topic new events get while the events already stored keep the old one. Two things
must then still hold, and this module owns both:

- decoding: the old topic resolves to the moved class (`register_topic`, done on import);
- reading by topic: a projection asking for an event type asks for every topic it was ever
  stored under (`stored_topics`), or it would silently skip the history written before the move.

A move is recorded in `MOVED_MODULES` and never removed: the store keeps old topics forever.
"""

from __future__ import annotations

import importlib

from eventsourcing.utils import register_topic

# old module path → the module that now defines its classes
MOVED_MODULES: dict[str, str] = {
    # The fleet-wide settings (deployment limit, mutation interval) lived under identity.
    "domain.identity.settings": "domain.fleet.settings",
}


def topic_of(cls: type) -> str:
    """The topic the store records for an event class today."""
    return f"{cls.__module__}:{cls.__qualname__}"


def stored_topics(*classes: type) -> tuple[str, ...]:
    """Every topic events of these classes may be stored under: today's and the moved ones."""
    topics: list[str] = []
    for cls in classes:
        topics.append(topic_of(cls))
        topics.extend(
            f"{old}:{cls.__qualname__}"
            for old, new in MOVED_MODULES.items()
            if new == cls.__module__
        )
    return tuple(topics)


def register_moved_modules() -> None:
    """Make every old topic resolve to the moved class (idempotent)."""
    for old, new in MOVED_MODULES.items():
        register_topic(old, importlib.import_module(new))
