"""Evidence bundles: a fresh one verifies; a flipped byte or any kind of tampering is named."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from domain.audit.checkpoint import Checkpoint
from infrastructure.audit.bundle import seal_stream
from infrastructure.audit.bundle_format import (
    EVENTS,
    MANIFEST,
    MANIFEST_SIG,
    PROOFS,
    SEAL_LENGTH,
    dumps,
    manifest_message,
)
from infrastructure.audit.bundle_verify import verify_bundle
from infrastructure.audit.report import VerificationReport
from infrastructure.audit.signing import SigningKey
from tests.unit.audit.bundle_fixtures import ATTACKER, DROPPED_SHA, OTHERS, write_bundle

ARTIFACT = f"artifacts/{DROPPED_SHA}"


def rewrite(path: Path, changes: dict[str, bytes | None], key: SigningKey | None = None) -> Path:
    """A copy of the bundle with members replaced (None drops one), re-signed by `key` if given."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    for name, data in changes.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    if key is not None:
        manifest = json.loads(members[MANIFEST])
        manifest["members"] = {
            n: hashlib.sha256(d).hexdigest()
            for n, d in members.items()
            if n not in (MANIFEST, MANIFEST_SIG)
        }
        members[MANIFEST] = json.dumps(manifest).encode()
        members[MANIFEST_SIG] = (
            key.sign_message(manifest_message(members[MANIFEST])) + "\n"
        ).encode()
    out = path.with_name(f"changed-{len(list(path.parent.iterdir()))}.zip")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.comment = b"\0" * SEAL_LENGTH
    if key is None:  # not re-signed: the archive's seal no longer holds
        out.write_bytes(archive.getvalue())
        return out
    with out.open("wb") as f:
        seal_stream(archive, f, key)
    return out


def named(report: VerificationReport, member: str) -> bool:
    """Whether some failure names the member (as the member, or in its detail)."""
    return any(f.member == member or member in f.detail for f in report.failures)


def kinds(report: VerificationReport) -> set[tuple[str, int | None]]:
    """(kind, position) of every failure."""
    return {(f.kind, f.position) for f in report.failures}


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, SigningKey]:
    path, key, _ = write_bundle(tmp_path)
    return path, key


def test_a_fresh_bundle_verifies(bundle: tuple[Path, SigningKey]) -> None:
    """Every event, record, artifact and signature checks out, with the counts reported."""
    path, key = bundle
    report = verify_bundle(path, trusted_key=key.public_key())
    assert report.ok, report.lines()
    assert (report.events, report.records, report.artifacts) == (4, 6, 1)
    assert report.subject == {"attacker_ip": ATTACKER}
    assert report.key_fingerprint == key.public_key().fingerprint()


def test_batches_hold_only_the_attackers_records(bundle: tuple[Path, SigningKey]) -> None:
    """Other attackers' records are left out; the count and proofs still bind the batch."""
    with zipfile.ZipFile(bundle[0]) as zf:
        lines = [json.loads(line) for line in zf.read(EVENTS).splitlines()]
    batches = [line["batch"] for line in lines if "batch" in line]
    records = [r["record"] for b in batches for r in b["records"]]
    assert {r["attacker_ip"] for r in records} == {ATTACKER}
    assert not any(ip.encode() in zf_bytes(bundle[0], EVENTS) for ip in OTHERS)
    assert [b["records_count"] for b in batches] == [10, 2, 1]


def zf_bytes(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_flipping_any_byte_of_any_member_fails_and_names_it(
    bundle: tuple[Path, SigningKey],
) -> None:
    """First, middle and last byte of every member, flipped: the report fails and names it."""
    path, _ = bundle
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    assert set(members) >= {EVENTS, PROOFS, "checkpoint.json", "public_key.pem", ARTIFACT}
    for name, data in members.items():
        for offset in sorted({0, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1}):
            flipped = bytearray(data)
            flipped[offset] ^= 0x01
            report = verify_bundle(rewrite(path, {name: bytes(flipped)}))
            assert not report.ok, (name, offset)
            assert named(report, name), (name, offset, report.lines())


def test_a_raw_byte_flipped_in_the_archive_is_unreadable(bundle: tuple[Path, SigningKey]) -> None:
    """A flipped byte in compressed data fails its CRC or inflation, naming the member."""
    path, _ = bundle
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(EVENTS)
    data[info.header_offset + 30 + len(EVENTS) + 10] ^= 0x01  # inside the deflated bytes
    path.write_bytes(bytes(data))
    report = verify_bundle(path)
    assert not report.ok
    assert named(report, EVENTS)


def test_not_a_zip_is_reported(tmp_path: Path) -> None:
    """Any file that is not a zip archive fails as unreadable."""
    path = tmp_path / "x.zip"
    path.write_bytes(b"nope")
    report = verify_bundle(path)
    assert kinds(report) == {("unreadable", None)}


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in zf_bytes(path, EVENTS).splitlines()]


def _jsonl(lines: list[dict[str, object]]) -> bytes:
    return b"".join(dumps(line) + b"\n" for line in lines)


def test_an_altered_record_is_named_while_its_siblings_verify(
    bundle: tuple[Path, SigningKey],
) -> None:
    """Re-signed by the key holder, a changed record still fails its batch's records root."""
    path, key = bundle
    lines = _events(path)
    batch = lines[1]["batch"]
    assert isinstance(batch, dict)
    batch["records"][1]["record"]["msg"] = "edited"
    report = verify_bundle(rewrite(path, {EVENTS: _jsonl(lines)}, key))
    assert kinds(report) == {("record_proof", lines[1]["position"])}
    assert report.records == 5


def test_each_kind_of_event_tampering_is_caught(bundle: tuple[Path, SigningKey]) -> None:
    """The rest, the count, a lone record, a full state: each leaf misses the root."""
    path, key = bundle
    for edit in (_edit_rest, _edit_count, _edit_lone_record, _edit_state, _edit_version):
        lines = _events(path)
        position = edit(lines)
        report = verify_bundle(rewrite(path, {EVENTS: _jsonl(lines)}, key))
        assert ("not_in_tree", position) in kinds(report), (edit.__name__, report.lines())


def _edit_rest(lines: list[dict[str, object]]) -> object:
    # Parsed JSON: mypy sees the nested values as `object`.
    lines[1]["batch"]["rest"]["span"]["end_offset"] += 1  # type: ignore[index]
    return lines[1]["position"]


def _edit_count(lines: list[dict[str, object]]) -> object:
    # Parsed JSON: mypy sees the nested values as `object`.
    lines[1]["batch"]["records_count"] = 11  # type: ignore[index]
    return lines[1]["position"]


def _edit_lone_record(lines: list[dict[str, object]]) -> object:
    # Parsed JSON: mypy sees the nested values as `object`.
    lines[-1]["batch"]["records"][0]["record"]["decky"] = "decky-02"  # type: ignore[index]
    return lines[-1]["position"]


def _edit_state(lines: list[dict[str, object]]) -> object:
    lines[0]["state"] = str(lines[0]["state"]).replace("192.0.2.1", "192.0.2.2")
    return lines[0]["position"]


def _edit_version(lines: list[dict[str, object]]) -> object:
    lines[0]["originator_version"] = 2
    return lines[0]["position"]


def test_proof_tampering_is_caught(bundle: tuple[Path, SigningKey]) -> None:
    """A changed audit path or leaf index misses the root; a dropped proof is missing."""
    path, key = bundle
    proofs = json.loads(zf_bytes(path, PROOFS))
    first = proofs["events"][0]
    first["audit_path"][0] = "00" * 32
    second = proofs["events"][1]
    second["leaf_index"] += 2
    dropped = proofs["events"].pop()
    report = verify_bundle(rewrite(path, {PROOFS: json.dumps(proofs).encode()}, key))
    assert {("not_in_tree", first["position"]), ("not_in_tree", second["position"])} <= kinds(
        report
    )
    assert ("missing_proof", dropped["position"]) in kinds(report)


def test_reordered_events_are_caught(bundle: tuple[Path, SigningKey]) -> None:
    """Events must come in position order."""
    path, key = bundle
    lines = _events(path)
    lines[1], lines[2] = lines[2], lines[1]
    report = verify_bundle(rewrite(path, {EVENTS: _jsonl(lines)}, key))
    assert "order" in {kind for kind, _ in kinds(report)}


def test_artifact_tampering_is_caught(bundle: tuple[Path, SigningKey]) -> None:
    """Changed bytes fail their name; renamed to the new hash, no proven record names them."""
    path, key = bundle
    altered = verify_bundle(rewrite(path, {ARTIFACT: b"evil"}, key))
    assert kinds(altered) == {("artifact_hash", None)}
    evil = "artifacts/" + hashlib.sha256(b"evil").hexdigest()
    swapped = verify_bundle(rewrite(path, {ARTIFACT: None, evil: b"evil"}, key))
    assert kinds(swapped) == {("artifact_unreferenced", None)}
    assert swapped.warnings == [
        f"a verified record names artifact {DROPPED_SHA}, not in the bundle"
    ]


def test_a_resigned_checkpoint_with_another_root_fails_every_event(
    bundle: tuple[Path, SigningKey],
) -> None:
    """The key holder can sign any root, but the bundle's events do not reach it."""
    path, key = bundle
    checkpoint = json.loads(zf_bytes(path, "checkpoint.json"))
    forged = Checkpoint(checkpoint["tree_size"], "ab" * 32, checkpoint["timestamp"])
    signed = key.sign(forged).to_json()
    report = verify_bundle(rewrite(path, {"checkpoint.json": json.dumps(signed).encode()}, key))
    assert {kind for kind, _ in kinds(report)} == {"not_in_tree", "artifact_unreferenced"}
    assert report.events == 0


def test_a_bundle_from_another_key_is_refused_when_the_key_is_pinned(
    bundle: tuple[Path, SigningKey],
) -> None:
    """An entirely self-consistent bundle signed by a stranger fails against the trusted key."""
    path, _ = bundle
    assert verify_bundle(path).ok
    report = verify_bundle(path, trusted_key=SigningKey.generate().public_key())
    assert ("untrusted_key", None) in kinds(report)


def test_extra_and_missing_members_are_named(bundle: tuple[Path, SigningKey]) -> None:
    """An unknown member and a dropped required member are both failures."""
    path, key = bundle
    report = verify_bundle(rewrite(path, {"notes.txt": b"hi", PROOFS: None}, key))
    assert named(report, "notes.txt")
    assert named(report, PROOFS)


def test_flipping_any_byte_of_the_archive_fails(bundle: tuple[Path, SigningKey]) -> None:
    """Every offset of the .zip itself, headers and timestamps included: the seal fails."""
    path, key = bundle
    data = path.read_bytes()
    flipped_path = path.with_name("flipped.zip")
    for offset in range(len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x01
        flipped_path.write_bytes(bytes(flipped))
        assert not verify_bundle(flipped_path, key.public_key()).ok, offset


def test_a_resealed_archive_by_another_key_is_refused(bundle: tuple[Path, SigningKey]) -> None:
    """Sealing the same bytes with another key: the pinned key refuses the seal."""
    path, key = bundle
    data = path.read_bytes()
    other = SigningKey.generate()
    out = path.with_name("resealed.zip")
    with out.open("wb") as f:
        seal_stream(io.BytesIO(data), f, other)
    report = verify_bundle(out, key.public_key())
    assert ("archive", None) in kinds(report)
