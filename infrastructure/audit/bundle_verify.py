"""`verify_bundle`: check an evidence bundle offline (no server, no database, no settings).

Checks, each naming the member that fails: the zip reads; the public key parses (and is the
one the auditor pinned, if any); the checkpoint's signature; the signed manifest lists every
member with its SHA-256; every event's leaf, rebuilt from the bundle, reaches the checkpoint
root; every batch record reaches its batch's records root; every artifact's SHA-256 is its name
and a verified record names it; the archive's seal (its comment) signs every byte before it.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from domain.audit.checkpoint import SignedCheckpoint
from domain.audit.errors import CheckpointError
from infrastructure.audit.bundle_events import check_events
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
    BundleFormatError,
    archive_message,
    loads,
    manifest_message,
)
from infrastructure.audit.report import VerificationReport
from infrastructure.audit.signing import PublicKey, SigningKeyError

DOCUMENTS = (VERIFY, PUBLIC_KEY, CHECKPOINT, EVENTS, PROOFS, MANIFEST, MANIFEST_SIG)
_ARTIFACT = re.compile(ARTIFACTS + r"[0-9a-f]{64}")
_SIGNATURE_FILE = re.compile(rb"[A-Za-z0-9+/]{86}==\n")
CHUNK = 1 << 20
# What zipfile raises on a damaged archive: a flipped compression method is NotImplementedError,
# a flipped encryption flag RuntimeError, a flipped name encoding flag UnicodeDecodeError.
UNREADABLE = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


@dataclass(slots=True)
class _Members:
    documents: dict[str, bytes] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)


def verify_bundle(path: Path, trusted_key: PublicKey | None = None) -> VerificationReport:
    """Check everything in the bundle at `path`; the report names every failure."""
    report = VerificationReport(str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            members = _read(zf, report)
    except UNREADABLE as e:
        report.fail(path.name, "unreadable", f"not a readable zip archive: {e}")
        return report
    key = _key(members, trusted_key, report)
    _seal(path, key, report)
    signed = _checkpoint(members, key, report)
    _manifest(members, key, report)
    referenced: set[str] = set()
    if signed is not None and EVENTS in members.documents and PROOFS in members.documents:
        docs = members.documents
        referenced = check_events(docs[EVENTS], docs[PROOFS], signed.checkpoint, report)
    _artifacts(members, referenced, report)
    return report


def _seal(path: Path, key: PublicKey | None, report: VerificationReport) -> None:
    """The archive ends in its seal: a signature of the SHA-256 of every byte before it."""
    name = path.name
    with path.open("rb") as f:
        f.seek(0, 2)
        remaining = f.tell() - SEAL_LENGTH
        if remaining < 0:
            report.fail(name, "archive", "the archive is too short to hold its seal")
            return
        f.seek(remaining)
        seal = f.read()
        if not seal.startswith(SEAL_PREFIX):
            report.fail(name, "archive", "the archive does not end in its seal")
            return
        f.seek(0)
        h = hashlib.sha256()
        while remaining:
            chunk = f.read(min(CHUNK, remaining))
            h.update(chunk)
            remaining -= len(chunk)
    signature = seal[len(SEAL_PREFIX) :].decode("ascii", "replace")
    if key is None or not key.verify_message(archive_message(h.hexdigest()), signature):
        report.fail(name, "archive", "the seal does not sign these archive bytes")


def _read(zf: zipfile.ZipFile, report: VerificationReport) -> _Members:
    members = _Members()
    counts = Counter(info.filename for info in zf.infolist())
    for info in zf.infolist():
        name = info.filename
        if counts[name] > 1:
            report.fail(name, "duplicate", "the archive holds this name more than once")
            continue
        artifact = _ARTIFACT.fullmatch(name) is not None
        if name not in DOCUMENTS and not artifact:
            report.fail(name, "unexpected", "not a member of the bundle format")
        try:
            h, chunks = hashlib.sha256(), []
            with zf.open(info) as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
                    if not artifact:
                        chunks.append(chunk)
        except UNREADABLE as e:
            report.fail(name, "unreadable", str(e))
            continue
        members.digests[name] = h.hexdigest()
        if name in DOCUMENTS:
            members.documents[name] = b"".join(chunks)
    for name in DOCUMENTS:
        if name not in members.digests:
            report.fail(name, "missing", "the bundle needs this member")
    return members


def _key(
    members: _Members, trusted: PublicKey | None, report: VerificationReport
) -> PublicKey | None:
    if PUBLIC_KEY not in members.documents:
        return trusted
    try:
        key = PublicKey.from_pem(members.documents[PUBLIC_KEY])
    except SigningKeyError as e:
        report.fail(PUBLIC_KEY, "unreadable", str(e))
        return trusted
    report.key_fingerprint = key.fingerprint()
    if trusted is not None and key != trusted:
        detail = f"the bundle's key is not the trusted key {trusted.fingerprint()}"
        report.fail(PUBLIC_KEY, "untrusted_key", detail)
        return trusted
    return key


def _checkpoint(
    members: _Members, key: PublicKey | None, report: VerificationReport
) -> SignedCheckpoint | None:
    if CHECKPOINT not in members.documents:
        return None
    try:
        signed = SignedCheckpoint.from_json(loads(members.documents[CHECKPOINT]))
    except (BundleFormatError, CheckpointError) as e:
        report.fail(CHECKPOINT, "malformed", str(e))
        return None
    report.checkpoint = signed.checkpoint
    if key is None or not key.verify_message(signed.checkpoint.message(), signed.signature):
        report.fail(CHECKPOINT, "signature", "its signature does not verify with public_key.pem")
    return signed


def _manifest(members: _Members, key: PublicKey | None, report: VerificationReport) -> None:
    data, sig = members.documents.get(MANIFEST), members.documents.get(MANIFEST_SIG)
    if data is None or sig is None:
        return
    if not _SIGNATURE_FILE.fullmatch(sig):
        report.fail(MANIFEST_SIG, "malformed", "not one line of base64 of 64 bytes")
        return
    text = sig.decode("ascii")[:-1]
    if key is None or not key.verify_message(manifest_message(data), text):
        detail = "manifest.sig does not sign it with public_key.pem (one of the three was altered)"
        report.fail(MANIFEST, "signature", detail)
        return  # an unsigned manifest's digests prove nothing and would blame the wrong member
    try:
        manifest = loads(data)
        listed = manifest["members"]
        if manifest.get("format") != FORMAT or not isinstance(listed, dict):
            raise BundleFormatError(f"not a {FORMAT} manifest")
    except (BundleFormatError, KeyError, TypeError) as e:
        report.fail(MANIFEST, "malformed", str(e))
        return
    report.subject = manifest.get("subject")
    _compare(members.digests, listed, report)
    cp = report.checkpoint
    if manifest.get("public_key") != report.key_fingerprint or (
        cp is not None and manifest.get("tree_size") != cp.tree_size
    ):
        report.fail(MANIFEST, "mismatch", "its key or tree size differs from the bundle's")


def _compare(
    digests: dict[str, str], listed: dict[str, object], report: VerificationReport
) -> None:
    for name, digest in digests.items():
        if name in (MANIFEST, MANIFEST_SIG):
            continue
        if name not in listed:
            report.fail(name, "manifest", "the signed manifest does not list this member")
        elif listed[name] != digest:
            report.fail(name, "manifest", "its SHA-256 differs from the signed manifest's")
    for name in listed:
        if name not in digests:
            report.fail(name, "missing", "the signed manifest lists it but the bundle lacks it")


def _artifacts(members: _Members, referenced: set[str], report: VerificationReport) -> None:
    present = set()
    for name, digest in members.digests.items():
        if not _ARTIFACT.fullmatch(name):
            continue
        expected = name.removeprefix(ARTIFACTS)
        present.add(expected)
        if digest != expected:
            report.fail(name, "artifact_hash", f"its SHA-256 is {digest}")
        elif expected not in referenced:
            report.fail(name, "artifact_unreferenced", "no verified record names this hash")
        else:
            report.artifacts += 1
    for digest in sorted(referenced - present):
        report.warnings.append(f"a verified record names artifact {digest}, not in the bundle")
