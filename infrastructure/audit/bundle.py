"""Writing an evidence bundle: events (batches cut to one subject's records), proofs, artifacts.

Every event is checked before it is accepted: its leaf, rebuilt from exactly what the bundle
will hold, must reach the signed checkpoint's root through its audit path. An export that would
not verify fails here, not on the auditor's desk.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from domain.audit.canonical import event_leaf_hash
from domain.audit.checkpoint import SignedCheckpoint
from domain.audit.evidence import EventRow, candidate_roots, excerpt, excerpt_leaf
from domain.audit.verify import verify_inclusion
from infrastructure.audit.bundle_format import (
    ARTIFACTS,
    CHECKPOINT,
    EVENTS,
    FORMAT,
    MANIFEST,
    MANIFEST_SIG,
    PROOFS,
    PUBLIC_KEY,
    SEAL_LENGTH,
    SEAL_PREFIX,
    VERIFY,
    EventEntry,
    EventProof,
    archive_message,
    dumps,
    event_json,
    manifest_message,
    proofs_json,
)
from infrastructure.audit.signing import SigningKey
from infrastructure.audit.verify_text import VERIFY_MD

CHUNK = 1 << 20
SPOOL = 32 << 20  # bundles larger than this are assembled on disk


class BundleError(Exception):
    """An export that would not verify (the caller aborts the download)."""


def _keep_all(record: Any) -> bool:
    return True


class BundleWriter:
    """Collects events with their proofs and artifacts, then writes the `.zip`."""

    def __init__(
        self, key: SigningKey, checkpoint: SignedCheckpoint, subject: Mapping[str, Any]
    ) -> None:
        if not key.public_key().verify_message(
            checkpoint.checkpoint.message(), checkpoint.signature
        ):
            raise BundleError("the checkpoint is not signed by this key")
        self._key = key
        self._signed = checkpoint
        self._subject = dict(subject)
        self._events: dict[int, tuple[EventEntry, EventProof]] = {}
        self._artifacts: dict[str, Path] = {}

    def add_event(
        self,
        row: EventRow,
        leaf_index: int,
        audit_path: Sequence[bytes],
        keep: Callable[[Any], bool] | None = None,
    ) -> int:
        """Add an event (a batch keeps the records `keep` accepts); returns the records kept."""
        if row.position in self._events:
            raise BundleError(f"position {row.position} is already in the bundle")
        entry, kept = self._entry(row, keep or _keep_all)
        proof = EventProof(row.position, leaf_index, list(audit_path))
        cp = self._signed.checkpoint
        if not verify_inclusion(_leaf(entry), leaf_index, cp.tree_size, proof.audit_path, cp.root):
            raise BundleError(f"position {row.position} is not leaf {leaf_index} of the checkpoint")
        self._events[row.position] = (entry, proof)
        return kept

    def _entry(self, row: EventRow, keep: Callable[[Any], bool]) -> tuple[EventEntry, int]:
        head = (row.position, row.originator_id, row.originator_version, row.topic)
        part = excerpt(row, keep)
        if part is None:
            return EventEntry(*head, state=row.state), 0
        if part.records_count and not part.records:
            raise BundleError(f"position {row.position}: no record of this batch is kept")
        entry = EventEntry(*head, batch=part)
        if _leaf(entry) != event_leaf_hash(*head, row.state):
            raise BundleError(f"position {row.position}: the excerpt does not rebuild the event")
        return entry, len(part.records)

    def add_artifact(self, path: Path, sha256: str | None = None) -> str:
        """Add a captured file; returns its SHA-256 (BundleError if it differs from `sha256`)."""
        digest = _file_sha256(path)
        if sha256 is not None and sha256 != digest:
            raise BundleError(f"{path} has SHA-256 {digest}, not {sha256}")
        self._artifacts[digest] = path
        return digest

    def write(self, out: IO[bytes]) -> None:
        """Write the bundle to a binary stream (seekable or not), sealed by its comment."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as archive:
            self._write_zip(archive)
            archive.seek(0)
            seal_stream(archive, out, self._key)

    def _write_zip(self, out: IO[bytes]) -> None:
        stamp = time.gmtime()[:6]
        digests: dict[str, str] = {}
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in self._documents():
                zf.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
                digests[name] = hashlib.sha256(data).hexdigest()
            for digest, path in sorted(self._artifacts.items()):
                self._write_artifact(zf, zipfile.ZipInfo(ARTIFACTS + digest, stamp), digest, path)
                digests[ARTIFACTS + digest] = digest
            manifest = self._manifest(digests)
            zf.writestr(zipfile.ZipInfo(MANIFEST, stamp), manifest, zipfile.ZIP_DEFLATED)
            signature = self._key.sign_message(manifest_message(manifest)) + "\n"
            zf.writestr(zipfile.ZipInfo(MANIFEST_SIG, stamp), signature, zipfile.ZIP_DEFLATED)
            zf.comment = b"\0" * SEAL_LENGTH  # replaced by the seal

    def _documents(self) -> Iterator[tuple[str, bytes]]:
        ordered = [self._events[p] for p in sorted(self._events)]
        yield VERIFY, VERIFY_MD.encode()
        yield PUBLIC_KEY, self._key.public_key().pem()
        yield CHECKPOINT, _pretty(self._signed.to_json())
        yield EVENTS, b"".join(dumps(event_json(entry)) + b"\n" for entry, _ in ordered)
        proofs = proofs_json(self._signed.checkpoint.tree_size, [proof for _, proof in ordered])
        yield PROOFS, _pretty(proofs)

    @staticmethod
    def _write_artifact(
        zf: zipfile.ZipFile, info: zipfile.ZipInfo, digest: str, path: Path
    ) -> None:
        info.compress_type = zipfile.ZIP_DEFLATED
        h = hashlib.sha256()
        with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                dst.write(chunk)
        if h.hexdigest() != digest:
            raise BundleError(f"{path} changed while the bundle was written")

    def _manifest(self, digests: dict[str, str]) -> bytes:
        manifest = {
            "format": FORMAT,
            "subject": self._subject,
            "public_key": self._key.public_key().fingerprint(),
            "tree_size": self._signed.checkpoint.tree_size,
            "members": digests,
        }
        return _pretty(manifest)


def seal_stream(archive: IO[bytes], out: IO[bytes], key: SigningKey) -> None:
    """Copy a zip whose comment is SEAL_LENGTH bytes, replacing that comment with the seal.

    The seal signs the SHA-256 of every byte before it, so no byte of the archive — a local
    header's timestamp, a central directory entry, the comment's length — can change unseen.
    """
    archive.seek(0, 2)
    remaining = archive.tell() - SEAL_LENGTH
    if remaining < 0:
        raise BundleError("the archive has no room for its seal")
    archive.seek(0)
    h = hashlib.sha256()
    while remaining:
        chunk = archive.read(min(CHUNK, remaining))
        if not chunk:
            raise BundleError("the archive ended early")
        h.update(chunk)
        out.write(chunk)
        remaining -= len(chunk)
    out.write(SEAL_PREFIX + key.sign_message(archive_message(h.hexdigest())).encode("ascii"))


def _leaf(entry: EventEntry) -> bytes:
    """The leaf a verifier rebuilds from an entry (batch: from its records' single root)."""
    head = (entry.position, entry.originator_id, entry.originator_version, entry.topic)
    if entry.batch is None:
        assert entry.state is not None, "an entry holds a state or a batch"
        return event_leaf_hash(*head, entry.state)
    roots = candidate_roots(entry.batch)
    if len(roots) != 1:
        raise BundleError(f"position {entry.position}: the records do not share one root")
    return excerpt_leaf(*head, entry.batch, next(iter(roots)))


def _pretty(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
