"""The evidence bundle's members and their JSON, written and read strictly (see docs/forensics.md).

`events.jsonl`, one compact JSON object a line, in position order:
    {"position", "originator_id", "originator_version", "topic", and exactly one of
     "state" (the stored bytes as UTF-8 text) | "state_b64" (when they are not UTF-8) |
     "batch": {"rest": {...}, "records_count": n, "records": [{"index", "record", "proof"}]}}
`proofs.json`: {"tree_size": n, "events": [{"position", "leaf_index", "audit_path"}]}.
Hashes are 64 lowercase hex digits; unknown or missing members are errors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.audit.evidence import BatchExcerpt, ProvenRecord

FORMAT = "decnet-evidence-bundle/1"
EVENTS = "events.jsonl"
PROOFS = "proofs.json"
CHECKPOINT = "checkpoint.json"
PUBLIC_KEY = "public_key.pem"
VERIFY = "VERIFY.md"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
ARTIFACTS = "artifacts/"
MANIFEST_TITLE = b"decnet-es evidence manifest v1\n"
# The archive's comment seals every byte before it (headers, timestamps, compressed data too).
ARCHIVE_TITLE = b"decnet-es evidence archive v1\n"
SEAL_PREFIX = b"decnet-es-archive-signature "
SEAL_LENGTH = len(SEAL_PREFIX) + 88  # base64 of a 64-byte Ed25519 signature
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ROW = {"position", "originator_id", "originator_version", "topic"}


class BundleFormatError(ValueError):
    """A member that does not have the documented form."""


@dataclass(frozen=True, slots=True)
class EventEntry:
    """One line of events.jsonl: the full stored state, or a batch excerpt."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes | None = None
    batch: BatchExcerpt | None = None


@dataclass(frozen=True, slots=True)
class EventProof:
    """An event's leaf index and audit path in the checkpoint's tree."""

    position: int
    leaf_index: int
    audit_path: list[bytes]


def manifest_message(manifest: bytes) -> bytes:
    """What manifest.sig signs: a title line, then manifest.json's exact bytes."""
    return MANIFEST_TITLE + manifest


def archive_message(digest: str) -> bytes:
    """What the archive seal signs: a title line, then the hex SHA-256 of the sealed bytes."""
    return ARCHIVE_TITLE + digest.encode("ascii") + b"\n"


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (escaped ASCII when a string holds a lone surrogate)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def loads(data: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate names, no NaN (BundleFormatError otherwise)."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_object, parse_constant=_nan)
    except (UnicodeDecodeError, ValueError) as e:
        raise BundleFormatError(f"not strict JSON: {e}") from e


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def _nan(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def event_json(entry: EventEntry) -> dict[str, Any]:
    """The events.jsonl object of an entry."""
    line: dict[str, Any] = {
        "position": entry.position,
        "originator_id": str(entry.originator_id),
        "originator_version": entry.originator_version,
        "topic": entry.topic,
    }
    if entry.batch is not None:
        line["batch"] = _batch_json(entry.batch)
    elif entry.state is not None:
        try:
            line["state"] = entry.state.decode("utf-8")
        except UnicodeDecodeError:
            line["state_b64"] = base64.b64encode(entry.state).decode("ascii")
    return line


def _batch_json(part: BatchExcerpt) -> dict[str, Any]:
    records = [
        {"index": r.index, "record": r.record, "proof": [p.hex() for p in r.proof]}
        for r in part.records
    ]
    return {"rest": part.rest, "records_count": part.records_count, "records": records}


def proofs_json(tree_size: int, proofs: list[EventProof]) -> dict[str, Any]:
    """The proofs.json object."""
    events = [
        {"position": p.position, "leaf_index": p.leaf_index, "audit_path": _hexes(p.audit_path)}
        for p in proofs
    ]
    return {"tree_size": tree_size, "events": events}


def _hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def parse_event(value: Any) -> EventEntry:
    """An events.jsonl object back into an entry (BundleFormatError when malformed)."""
    forms = {"state", "state_b64", "batch"}
    if not isinstance(value, dict) or not set(value) >= _ROW or len(set(value) - _ROW) != 1:
        raise BundleFormatError("an event has position, originator_id, originator_version, topic")
    (form,) = set(value) - _ROW
    if form not in forms:
        raise BundleFormatError(f"unknown member {form!r}")
    position = _int(value["position"], "position")
    version = _int(value["originator_version"], "originator_version")
    topic = _str(value["topic"], "topic")
    oid = _uuid(value["originator_id"])
    if form == "batch":
        return EventEntry(position, oid, version, topic, batch=_parse_batch(value["batch"]))
    if form == "state":
        return EventEntry(position, oid, version, topic, state=_utf8(value["state"]))
    return EventEntry(position, oid, version, topic, state=_b64(value["state_b64"]))


def _parse_batch(value: Any) -> BatchExcerpt:
    if not isinstance(value, dict) or set(value) != {"rest", "records_count", "records"}:
        raise BundleFormatError("a batch has rest, records_count and records")
    if not isinstance(value["rest"], dict) or not isinstance(value["records"], list):
        raise BundleFormatError("batch rest must be an object and records an array")
    count = _int(value["records_count"], "records_count")
    return BatchExcerpt(value["rest"], count, [_parse_record(r) for r in value["records"]])


def _parse_record(value: Any) -> ProvenRecord:
    if not isinstance(value, dict) or set(value) != {"index", "record", "proof"}:
        raise BundleFormatError("a record has index, record and proof")
    return ProvenRecord(_int(value["index"], "index"), value["record"], _hashes(value["proof"]))


def parse_proofs(value: Any) -> tuple[int, list[EventProof]]:
    """proofs.json back into its tree size and proofs."""
    if not isinstance(value, dict) or set(value) != {"tree_size", "events"}:
        raise BundleFormatError("proofs.json has tree_size and events")
    if not isinstance(value["events"], list):
        raise BundleFormatError("proofs.json events must be an array")
    return _int(value["tree_size"], "tree_size"), [_parse_proof(p) for p in value["events"]]


def _parse_proof(value: Any) -> EventProof:
    if not isinstance(value, dict) or set(value) != {"position", "leaf_index", "audit_path"}:
        raise BundleFormatError("a proof has position, leaf_index and audit_path")
    position = _int(value["position"], "position")
    return EventProof(
        position, _int(value["leaf_index"], "leaf_index"), _hashes(value["audit_path"])
    )


def _int(value: Any, name: str) -> int:
    if type(value) is not int:
        raise BundleFormatError(f"{name} must be an integer")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BundleFormatError(f"{name} must be a string")
    return value


def _uuid(value: Any) -> UUID:
    text = _str(value, "originator_id")
    try:
        parsed = UUID(text)
    except ValueError as e:
        raise BundleFormatError("originator_id must be a UUID") from e
    if str(parsed) != text:
        raise BundleFormatError("originator_id must be a lowercase hyphenated UUID")
    return parsed


def _utf8(value: Any) -> bytes:
    try:
        return _str(value, "state").encode("utf-8")
    except UnicodeEncodeError as e:
        raise BundleFormatError("state is not valid Unicode text") from e


def _b64(value: Any) -> bytes:
    text = _str(value, "state_b64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise BundleFormatError("state_b64 is not base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise BundleFormatError("state_b64 is not canonical base64")
    return raw


def _hashes(value: Any) -> list[bytes]:
    if not isinstance(value, list) or not all(
        isinstance(h, str) and _HEX64.fullmatch(h) for h in value
    ):
        raise BundleFormatError("a proof is an array of 64-digit lowercase hex hashes")
    return [bytes.fromhex(h) for h in value]
