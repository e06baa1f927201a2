"""Tamper evidence: the public key, signed checkpoints, proofs and whole-log verification."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, get
from litestar.params import Parameter

from application.audit.ports import StoredCheckpoint
from domain.audit.checkpoint import Checkpoint
from domain.shared.errors import InvalidError
from interfaces.http.auth import requires_audit, services_of
from interfaces.http.openapi import ANSWERS, REQUIRED_QUERY
from interfaces.http.params import (
    NOT_GIVEN_SCHEMA,
    Limit,
    Offset,
    given,
    int_param,
    integer,
    page,
    query,
)
from projections.merkle_verify import verify_log

MAX_SIZE = 2**62
SIZE_FROM = {
    "description": "The smaller tree's size (default 0)",
    "schema_extra": {
        "one_of": None,
        "type": None,
        "any_of": [integer(0, MAX_SIZE), NOT_GIVEN_SCHEMA],
    },
}
SIZE_TO = {
    "description": "The larger tree's size (default: the whole log now)",
    "schema_extra": {
        "one_of": None,
        "type": None,
        "any_of": [integer(0, MAX_SIZE), NOT_GIVEN_SCHEMA],
    },
}
TreeSize = Annotated[
    str | None, query("Tree size (default: the whole log now)", integer(1, MAX_SIZE))
]


class PublicKey(msgspec.Struct):
    """The checkpoint signing key."""

    algorithm: str
    pem: str
    raw_base64: str
    fingerprint: str


class CheckpointRow(msgspec.Struct):
    """One signed checkpoint of the event tree."""

    position: int
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str
    key_fingerprint: str


class CheckpointPage(msgspec.Struct):
    """SPEC's pagination envelope of checkpoints."""

    total: int
    limit: int
    offset: int
    data: list[CheckpointRow]


class InclusionProof(msgspec.Struct):
    """RFC 6962 audit path of one event."""

    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    root_hash: str


class ConsistencyProof(msgspec.Struct):
    """RFC 6962 proof that one tree is a prefix of another."""

    first: int = msgspec.field(name="from")
    second: int = msgspec.field(name="to")
    from_root: str = ""
    to_root: str = ""
    proof: list[str] = msgspec.field(default_factory=list)


class Mismatch(msgspec.Struct):
    """Where a verification first disagreed."""

    position: int
    kind: str
    detail: str


class Verification(msgspec.Struct):
    """The outcome of recomputing the tree from every stored event."""

    ok: bool
    head: int
    verified_up_to: int
    checkpoints_checked: int
    events_checked: int
    seconds: float
    first_mismatch: Mismatch | None


def _checkpoint(cp: StoredCheckpoint) -> CheckpointRow:
    return CheckpointRow(
        cp.position, cp.tree_size, cp.root_hash, cp.signed_at, cp.signature, cp.key_fingerprint
    )


@get("/audit/public-key", guards=[requires_audit], tags=["audit"])
async def public_key(request: Request[Any, Any, Any]) -> PublicKey:
    """The Ed25519 key that signs checkpoints and evidence bundles (PEM, raw base64)."""
    key = services_of(request).core.signing_key.public_key()
    return PublicKey("Ed25519", key.pem().decode(), key.raw_b64(), key.fingerprint())


@get("/audit/checkpoints", guards=[requires_audit], tags=["audit"])
async def list_checkpoints(
    request: Request[Any, Any, Any], limit: Limit = None, offset: Offset = None
) -> CheckpointPage:
    """Signed checkpoints of the event tree, newest first."""
    size, skip = page(limit, offset)
    total, rows = await services_of(request).core.tree.checkpoints(size, skip)
    return CheckpointPage(total, size, skip, [_checkpoint(cp) for cp in rows])


@get(
    "/audit/proof",
    guards=[requires_audit],
    tags=["audit"],
    opt={REQUIRED_QUERY: ("position",), ANSWERS: (404,)},
)
async def inclusion_proof(
    request: Request[Any, Any, Any],
    position: Annotated[
        str | None, query("The event's store position", integer(1, MAX_SIZE))
    ] = None,
    tree_size: TreeSize = None,
) -> InclusionProof:
    """The RFC 6962 audit path of the event at `position` in the tree of `tree_size` events."""
    if given(position) is None:
        raise InvalidError("position is required (a store position ≥ 1)")
    at = int_param("position", position, 0, 1, MAX_SIZE)
    size = int_param("tree_size", tree_size, -1, 1, MAX_SIZE)
    proof = await services_of(request).core.tree.inclusion(at, None if size < 0 else size)
    return InclusionProof(
        proof.position,
        proof.leaf_index,
        proof.tree_size,
        proof.leaf_hash.hex(),
        [h.hex() for h in proof.audit_path],
        proof.root.hex(),
    )


@get("/audit/consistency", guards=[requires_audit], tags=["audit"])
async def consistency_proof(
    request: Request[Any, Any, Any],
    first: Annotated[str | None, Parameter(query="from", **SIZE_FROM)] = None,
    second: Annotated[str | None, Parameter(query="to", **SIZE_TO)] = None,
) -> ConsistencyProof:
    """The RFC 6962 proof that the tree of `from` events is a prefix of the tree of `to`."""
    tree = services_of(request).core.tree
    low = int_param("from", first, 0, 0, MAX_SIZE)
    high = int_param("to", second, -1, 0, MAX_SIZE)
    if high < 0:
        high = (await tree.head()).size
    proof = await tree.consistency(low, high)
    return ConsistencyProof(
        proof.first,
        proof.second,
        proof.first_root.hex(),
        proof.second_root.hex(),
        [h.hex() for h in proof.proof],
    )


@get("/audit/verify", guards=[requires_audit], tags=["audit"])
async def verify(request: Request[Any, Any, Any]) -> Verification:
    """Recompute the tree from every stored event; compare with the record and every checkpoint."""
    core = services_of(request).core
    key = core.signing_key.public_key()

    def signed(cp: Checkpoint, signature: str) -> bool:
        return key.verify_message(cp.message(), signature)

    started = time.perf_counter()
    conninfo = str(core.pool.conninfo)
    outcome = await anyio.to_thread.run_sync(lambda: verify_log(conninfo, signed))
    seconds = time.perf_counter() - started
    check = outcome.check
    mismatch = check.first_mismatch
    return Verification(
        ok=check.ok,
        head=outcome.head,
        verified_up_to=check.verified_up_to,
        checkpoints_checked=check.checkpoints_checked,
        events_checked=check.events,
        seconds=round(seconds, 3),
        first_mismatch=None
        if mismatch is None
        else Mismatch(mismatch.position, mismatch.kind, mismatch.detail),
    )


TAMPER_ROUTES = [public_key, list_checkpoints, inclusion_proof, consistency_proof, verify]
