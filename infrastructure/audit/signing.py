"""Ed25519 keys for checkpoints: created once under the data directory, mode 0600, then reused.

The key file is an unencrypted PKCS#8 PEM (`openssl pkey -in FILE -pubout` prints its public
key). Signatures are standard base64 of the 64 signature bytes over `Checkpoint.message()`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from domain.audit.checkpoint import Checkpoint, SignedCheckpoint

KEY_FILE_NAME = "signing_key.pem"


class SigningKeyError(Exception):
    """A key file or public key that cannot be used (unreadable, wrong type, too open)."""


def key_path(data_dir: Path, override: str | None = None) -> Path:
    """`DECNET_SIGNING_KEY_FILE` when set, else `<data dir>/signing_key.pem`."""
    return Path(override) if override else data_dir / KEY_FILE_NAME


class PublicKey:
    """An Ed25519 public key: verification and export."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Read a SubjectPublicKeyInfo PEM; SigningKeyError unless it is Ed25519."""
        try:
            key = load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise SigningKeyError(f"not a PEM public key: {e}") from e
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("the public key is not Ed25519")
        return cls(key)

    def raw(self) -> bytes:
        """The 32 raw key bytes."""
        return self._key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def raw_b64(self) -> str:
        """The raw key in standard base64."""
        return base64.b64encode(self.raw()).decode("ascii")

    def pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM, what `openssl pkeyutl -verify -pubin` reads."""
        return self._key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def fingerprint(self) -> str:
        """`sha256:<hex>` of the raw key bytes."""
        return "sha256:" + hashlib.sha256(self.raw()).hexdigest()

    def verify_message(self, message: bytes, signature: str) -> bool:
        """Whether `signature` (base64) signs `message` with this key."""
        try:
            raw = base64.b64decode(signature, validate=True)
            self._key.verify(raw, message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        # Only the canonical base64 text counts: spare bits in the last digit must be zero.
        return base64.b64encode(raw).decode("ascii") == signature

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.raw() == other.raw()

    def __hash__(self) -> int:
        return hash(self.raw())


class SigningKey:
    """An Ed25519 private key that signs checkpoints and bundle manifests."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key (tests and first start)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read a key file; refuse one that group or others may read (like ssh does)."""
        mode = path.stat().st_mode
        if mode & 0o077:
            raise SigningKeyError(f"{path} has mode {mode & 0o777:o}; run: chmod 600 {path}")
        try:
            key = load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as e:
            raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} does not hold an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key at `path`, generated there (mode 0600) on first start."""
        try:
            return cls.load(path)
        except FileNotFoundError:
            pass
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = cls.generate()
        pem = key._key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # atomic and exclusive: a concurrent starter keeps its own key
        except FileExistsError:
            return cls.load(path)
        finally:
            os.unlink(tmp)
        return key

    def public_key(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self._key.public_key())

    def fingerprint(self) -> str:
        """The public key's fingerprint, `sha256:<hex>`."""
        return self.public_key().fingerprint()

    def sign_message(self, message: bytes) -> str:
        """The base64 Ed25519 signature of `message`."""
        return base64.b64encode(self._key.sign(message)).decode("ascii")

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        """The checkpoint with its signature."""
        return SignedCheckpoint(checkpoint, self.sign_message(checkpoint.message()))


def sign(key: SigningKey, checkpoint: Checkpoint) -> str:
    """The base64 signature of a checkpoint's message."""
    return key.sign_message(checkpoint.message())


def verify(public_key: PublicKey, checkpoint: Checkpoint, signature: str) -> bool:
    """Whether `signature` signs `checkpoint` with `public_key`."""
    return public_key.verify_message(checkpoint.message(), signature)
