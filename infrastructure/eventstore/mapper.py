"""A typed msgspec mapper: events are encoded as JSON and decoded straight into their field types.

The library's default JSON transcoder walks every value through registered transcodings; msgspec
encodes dataclasses, UUIDs and datetimes natively and decodes into the declared field types, which
keeps the ingest path (1,000-record batch events) cheap.
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from functools import cache
from typing import Any

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from domain.shared.topics import register_moved_modules

_BASE_FIELDS = frozenset({"originator_id", "originator_version"})
_encoder = msgspec.json.Encoder()


class MsgspecTranscoder(Transcoder):
    """Untyped JSON in and out; the mapper does the typed decoding."""

    def encode(self, obj: Any) -> bytes:
        return _encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return msgspec.json.decode(data)


@cache
def _state_type(cls: type) -> type[msgspec.Struct]:
    """A msgspec struct mirroring the event's dataclass fields (minus the stored columns)."""
    hints = typing.get_type_hints(cls)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in dataclasses.fields(cls):
        if field.name in _BASE_FIELDS:
            continue
        if field.default is not dataclasses.MISSING:
            fields.append((field.name, hints[field.name], field.default))
        elif field.default_factory is not dataclasses.MISSING:
            factory = msgspec.field(default_factory=field.default_factory)
            fields.append((field.name, hints[field.name], factory))
        else:
            fields.append((field.name, hints[field.name]))
    ordered = [f for f in fields if len(f) == 2] + [f for f in fields if len(f) == 3]
    return msgspec.defstruct(f"{cls.__qualname__}State", ordered)


_decoders: dict[type, msgspec.json.Decoder[Any]] = {}
_decoders_made = threading.Lock()


def _decoder(cls: type) -> msgspec.json.Decoder[Any]:
    """The typed decoder of an event class, made once, by one thread at a time.

    msgspec builds a struct type's decoding information on its first use and publishes it before
    it is complete (so recursive types can refer to it); a second thread decoding the same type
    meanwhile reads the unfinished information and the process dies (SIGSEGV in msgspec 0.22:
    `decnet serve` decodes store pages in worker threads, and crashed so once at a start). Every
    typed use of an event's state type goes through here first, and is then thread-safe.
    """
    decoder = _decoders.get(cls)
    if decoder is None:
        with _decoders_made:
            decoder = _decoders.get(cls)
            if decoder is None:
                decoder = _decoders[cls] = msgspec.json.Decoder(_state_type(cls))
    return decoder


class MsgspecMapper(Mapper[Any]):
    """Maps domain events to stored events with msgspec, typed on the way back."""

    def __init__(
        self, transcoder: Transcoder | None = None, compressor: Any = None, cipher: Any = None
    ) -> None:
        # Compression and encryption are not used: events hold no secrets (password hashes only).
        super().__init__(transcoder=transcoder or MsgspecTranscoder())
        register_moved_modules()  # events stored before a module moved keep decoding

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        try:
            state = self._decode_state(cls, stored_event.state)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MapperDeserialisationError(
                f"cannot decode {stored_event.topic} {stored_event.originator_id}"
                f" v{stored_event.originator_version}: {e}"
            ) from e
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    @staticmethod
    def _decode_state(cls: type, data: bytes) -> dict[str, Any]:
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            return msgspec.structs.asdict(_decoder(cls).decode(data))
        # Old shapes are upcast in one place, on the raw dict, before typing.
        raw: dict[str, Any] = msgspec.json.decode(data)
        from_version = raw.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(raw)
            from_version += 1
        return msgspec.structs.asdict(msgspec.convert(raw, _decoder(cls).type, strict=False))
