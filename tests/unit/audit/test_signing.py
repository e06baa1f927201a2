"""Checkpoint messages, Ed25519 signatures and the key file's life cycle."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from domain.audit.errors import CheckpointError
from infrastructure.audit.signing import (
    PublicKey,
    SigningKey,
    SigningKeyError,
    key_path,
    sign,
    verify,
)

ROOT = bytes(range(32))
CHECKPOINT = Checkpoint.at(42, ROOT, datetime(2026, 12, 5, 3, 50, 30, tzinfo=UTC))


def test_the_signed_message_is_the_documented_text() -> None:
    """Four LF-terminated lines: title, size, hex root, Z timestamp."""
    assert CHECKPOINT.message() == (
        b"decnet-es checkpoint v1\ntree_size 42\n"
        b"root_hash 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        b"timestamp 2026-12-05T03:50:30Z\n"
    )
    assert CHECKPOINT.root == ROOT


def test_a_signature_verifies_with_its_key_only() -> None:
    """Round trip; another key, another checkpoint or a flipped byte fail."""
    key, other = SigningKey.generate(), SigningKey.generate()
    signature = sign(key, CHECKPOINT)
    assert verify(key.public_key(), CHECKPOINT, signature)
    assert not verify(other.public_key(), CHECKPOINT, signature)
    for changed in (
        Checkpoint(43, CHECKPOINT.root_hash, CHECKPOINT.timestamp),
        Checkpoint(42, "f" + CHECKPOINT.root_hash[1:], CHECKPOINT.timestamp),
        Checkpoint(42, CHECKPOINT.root_hash, "2026-12-05T03:50:31Z"),
    ):
        assert not verify(key.public_key(), changed, signature)
    raw = bytearray(base64.b64decode(signature))
    for i in (0, 31, 63):
        flipped = raw.copy()
        flipped[i] ^= 1
        assert not verify(key.public_key(), CHECKPOINT, base64.b64encode(flipped).decode())
    assert not verify(key.public_key(), CHECKPOINT, "not base64!")


def test_signed_checkpoints_round_trip_through_json() -> None:
    """`to_json` / `from_json` keep every field and refuse extra or missing members."""
    signed = SigningKey.generate().sign(CHECKPOINT)
    assert SignedCheckpoint.from_json(signed.to_json()) == signed
    with pytest.raises(CheckpointError):
        SignedCheckpoint.from_json({**signed.to_json(), "extra": 1})
    with pytest.raises(CheckpointError):
        SignedCheckpoint.from_json({**signed.to_json(), "signature": "AAAA"})


@pytest.mark.parametrize(
    ("size", "root", "ts"),
    [
        (-1, "00" * 32, "2026-01-01T00:00:00Z"),
        (True, "00" * 32, "2026-01-01T00:00:00Z"),
        (1, "AB" * 32, "2026-01-01T00:00:00Z"),
        (1, "00" * 31, "2026-01-01T00:00:00Z"),
        (1, "00" * 32, "2026-01-01T00:00:00+00:00"),
        (1, "00" * 32, "2026-01-01 00:00:00Z"),
    ],
)
def test_malformed_checkpoints_are_refused(size: int, root: str, ts: str) -> None:
    """Negative or boolean sizes, non-lowercase or short hex, non-Z timestamps."""
    with pytest.raises(CheckpointError):
        Checkpoint(size, root, ts)


def test_the_key_is_created_0600_and_reused(tmp_path: Path) -> None:
    """First start writes a 0600 PEM (in a new 0700 dir); later starts load the same key."""
    path = key_path(tmp_path / "data")
    first = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = SigningKey.load_or_create(path)
    assert again.public_key() == first.public_key()
    assert [p.name for p in path.parent.iterdir()] == ["signing_key.pem"]


def test_the_key_path_can_be_overridden(tmp_path: Path) -> None:
    """DECNET_SIGNING_KEY_FILE's value wins over the data directory."""
    assert key_path(tmp_path, None) == tmp_path / "signing_key.pem"
    assert key_path(tmp_path, str(tmp_path / "k.pem")) == tmp_path / "k.pem"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """Mode 0644 is an error naming the fix, not a silent use."""
    path = tmp_path / "k.pem"
    SigningKey.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        SigningKey.load_or_create(path)


def test_garbage_and_other_key_types_are_refused(tmp_path: Path) -> None:
    """A non-PEM file or an EC key is an error."""
    path = tmp_path / "k.pem"
    path.write_bytes(b"hello")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM"):
        SigningKey.load(path)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(ec_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(SigningKeyError, match="Ed25519"):
        SigningKey.load(path)
    ec_public = ec_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(SigningKeyError, match="Ed25519"):
        PublicKey.from_pem(ec_public)
    with pytest.raises(SigningKeyError, match="not a PEM"):
        PublicKey.from_pem(b"nope")


def test_public_key_exports() -> None:
    """PEM round-trips; raw base64 is 32 bytes; the fingerprint hashes the raw key."""
    public = SigningKey.generate().public_key()
    assert PublicKey.from_pem(public.pem()) == public
    assert len(base64.b64decode(public.raw_b64())) == 32
    assert public.fingerprint() == "sha256:" + hashlib.sha256(public.raw()).hexdigest()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_verifies_a_checkpoint_by_hand(tmp_path: Path) -> None:
    """The VERIFY.md recipe: openssl pkeyutl checks the signature over the message text."""
    key = SigningKey.generate()
    signed = key.sign(CHECKPOINT)
    (tmp_path / "key.pem").write_bytes(key.public_key().pem())
    (tmp_path / "msg").write_bytes(CHECKPOINT.message())
    (tmp_path / "sig").write_bytes(base64.b64decode(signed.signature))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin"]
    command += ["-in", "msg", "-sigfile", "sig"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, check=False)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "msg").write_bytes(CHECKPOINT.message().replace(b"42", b"43"))
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, check=False)
    assert bad.returncode != 0
