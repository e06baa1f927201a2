"""Canonical event bytes: the exact bytes each stored event contributes to the Merkle tree.

An outsider recomputes them from the store's row (`notification_id`, `originator_id`,
`originator_version`, `topic`, `state`) alone; integers are signed 64-bit big-endian:

    "decnet.event.v1\\n"            16 ASCII bytes (format tag)
    position                        int64  (the row's notification_id)
    originator_id                   16 bytes (the aggregate's UUID, RFC 4122 byte order)
    originator_version              int64
    len(topic) ‖ topic              int64 ‖ UTF-8 (the stored topic string, verbatim)
    kind                            1 byte, then one of:
      0x00 stored state:            len(state) ‖ state            (the stored bytes, verbatim)
      0x01 interaction batch:       len(rest) ‖ rest ‖ count ‖ records_root

Kind 0x01 applies to the interaction batch topic when the state is a JSON object (UTF-8, no
duplicate member names, no NaN) whose `records` member is an array: `rest` is the RFC 8785
(JCS) form of the object without `records`, `count` the number of records (int64) and
`records_root` the RFC 6962 root over the records, each leaf SHA-256(0x00 ‖ JCS(record)). So one
record is provable without the others, and a batch commits to the meaning of its JSON, not its
whitespace. Any other state, batch or not, is kind 0x00. The event's timestamp lives in its
state (`timestamp`), so it is covered either way. The tree's leaf is SHA-256(0x00 ‖ bytes).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from uuid import UUID

import msgspec

from domain.audit.jcs import canonical_json, plain_json
from domain.audit.merkle import CompactTree, leaf_hash, merkle_root_of

TAG = b"decnet.event.v1\n"
BATCH_TOPIC = "domain.observations.batch:InteractionBatch.InteractionsObserved"
KIND_STATE = b"\x00"
KIND_BATCH = b"\x01"
_LEAF_TAG = sha256(b"\x00" + TAG)


def _int(n: int) -> bytes:
    return n.to_bytes(8, "big", signed=True)


@dataclass(frozen=True, slots=True)
class BatchState:
    """A batch event's state split into its records and everything else."""

    rest: dict[str, Any]
    records: list[Any]
    plain: bool = False  # no float anywhere, every member name ASCII: records encode fast

    def record_leaves(self) -> list[bytes]:
        """Each record's leaf hash, in batch order."""
        if not self.plain:
            return record_leaves(self.records)
        return [leaf_hash(plain_json(record)) for record in self.records]

    def records_root(self) -> bytes:
        """The RFC 6962 root over the records."""
        return merkle_root_of(self.record_leaves())


def header(position: int, originator_id: UUID, originator_version: int, topic: str) -> bytes:
    """The tag and the fields every event's canonical bytes start with."""
    name = topic.encode("utf-8", "surrogatepass")
    return b"".join(
        (TAG, _int(position), originator_id.bytes, _int(originator_version), _int(len(name)), name)
    )


def split_batch(topic: str, state: bytes) -> BatchState | None:
    """The batch's records and the rest, or None when the event is not kind 0x01."""
    if topic != BATCH_TOPIC:
        return None
    return _split_compact(state) or _split_exact(state)


def _refuse_float(_text: str) -> Any:
    raise ValueError("a float: the exact parser's turn")


_COMPACT_DECODER = msgspec.json.Decoder(float_hook=_refuse_float)
_COMPACT = msgspec.json.Encoder().encode


def _split_compact(state: bytes) -> BatchState | None:
    """`_split_exact` of a state as decnet writes it, in C; None for any other state.

    The store's states are msgspec's compact JSON. An ASCII state that msgspec decodes, without
    a float, into a value it encodes back to the very same bytes is JSON (UTF-8), with no
    duplicate member name (the value holds each name once, and gives back every byte), no NaN
    and only ASCII member names: what `_split_exact` would parse it into, with `plain` true.
    Anything else (whitespace, floats, other escapes, non-ASCII text) is left to `_split_exact`.
    """
    if type(state) is not bytes or not state.isascii():
        return None
    try:
        value = _COMPACT_DECODER.decode(state)
    except (msgspec.DecodeError, RecursionError):  # ValidationError (a float) is a DecodeError
        return None
    if type(value) is not dict or type(value.get("records")) is not list:
        return None
    if _COMPACT(value) != state:
        return None
    records = value.pop("records")
    return BatchState(value, records, plain=True)


def _split_exact(state: bytes) -> BatchState | None:
    """The standard library's parse: duplicate names and NaN refused, floats and non-ASCII
    member names noted (their records take JCS's exact path)."""
    parse = _Parse()
    try:
        value = json.loads(
            state.decode("utf-8"),
            object_pairs_hook=parse.object,
            parse_float=parse.float,
            parse_constant=_nan,
        )
    except ValueError:  # undecodable UTF-8 or JSON, duplicate names, NaN: kind 0x00
        return None
    if type(value) is not dict or type(value.get("records")) is not list:
        return None
    records = value.pop("records")
    return BatchState(value, records, parse.plain)


class _Parse:
    """JSON object and float hooks: refuse duplicate names, note what JCS must treat exactly."""

    __slots__ = ("plain",)

    def __init__(self) -> None:
        self.plain = True

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        members = dict(pairs)
        if len(members) != len(pairs):
            raise ValueError("duplicate member name")
        if self.plain and not "".join(members).isascii():
            self.plain = False
        return members

    def float(self, text: str) -> float:
        self.plain = False
        return float(text)


def _nan(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def record_bytes(record: Any) -> bytes:
    """A record's canonical bytes: its RFC 8785 JSON."""
    return canonical_json(record)


def record_leaves(records: Sequence[Any]) -> list[bytes]:
    """Each record's leaf hash, in batch order."""
    return [leaf_hash(canonical_json(record)) for record in records]


def records_root(records: Sequence[Any]) -> bytes:
    """The RFC 6962 root over a batch's records."""
    tree = CompactTree()
    tree.extend(leaf_hash(canonical_json(record)) for record in records)
    return tree.root()


def batch_tail(rest: bytes, count: int, root: bytes) -> bytes:
    """Kind 0x01's bytes after the header, from the JCS rest, record count and records root."""
    return b"".join((KIND_BATCH, _int(len(rest)), rest, _int(count), root))


def canonical_event_bytes(
    position: int, originator_id: UUID, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The canonical bytes of one stored event (see the module docstring)."""
    head = header(position, originator_id, originator_version, topic)
    batch = split_batch(topic, state)
    if batch is None:
        return b"".join((head, KIND_STATE, _int(len(state)), state))
    rest = canonical_json(batch.rest)
    return head + batch_tail(rest, len(batch.records), batch.records_root())


def event_leaf_hash(
    position: int, originator_id: UUID, originator_version: int, topic: str, state: bytes
) -> bytes:
    """SHA-256(0x00 ‖ canonical bytes), without copying a large stored state."""
    h = _LEAF_TAG.copy()
    h.update(_HEAD.pack(position, originator_id.bytes, originator_version) + _topic_bytes(topic))
    batch = split_batch(topic, state) if topic == BATCH_TOPIC else None
    if batch is None:
        h.update(KIND_STATE + _STATE_LENGTH.pack(len(state)))
        h.update(state)
    else:
        h.update(batch_tail(canonical_json(batch.rest), len(batch.records), batch.records_root()))
    return h.digest()


_HEAD = struct.Struct(">q16sq")  # position, originator id, originator version
_STATE_LENGTH = struct.Struct(">q")
_TOPICS: dict[str, bytes] = {}


def _topic_bytes(topic: str) -> bytes:
    """len(topic) ‖ topic, cached per topic (a log has a few dozen)."""
    cached = _TOPICS.get(topic)
    if cached is None:
        name = topic.encode("utf-8", "surrogatepass")
        cached = _int(len(name)) + name
        if len(_TOPICS) < 1024:
            _TOPICS[topic] = cached
    return cached
