"""Tamper evidence: the public key, signed checkpoints, proofs and whole-log verification."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.params import Parameter

from application.audit.ports import StoredCheckpoint
from domain.audit.checkpoint import Checkpoint
from domain.shared.errors import InvalidError
from interfaces.http.auth import requires_audit, services_of
from interfaces.http.params import envelope, given, int_param, page
from projections.merkle_verify import verify_log

MAX_SIZE = 2**62


def _checkpoint_json(cp: StoredCheckpoint) -> dict[str, object]:
    return {
        "position": cp.position,
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "timestamp": cp.signed_at,
        "signature": cp.signature,
        "key_fingerprint": cp.key_fingerprint,
    }


@get("/audit/public-key", guards=[requires_audit], tags=["audit"])
async def public_key(request: Request[Any, Any, Any]) -> dict[str, object]:
    """The Ed25519 key that signs checkpoints and evidence bundles (PEM, raw base64)."""
    key = services_of(request).core.signing_key.public_key()
    return {
        "algorithm": "Ed25519",
        "pem": key.pem().decode(),
        "raw_base64": key.raw_b64(),
        "fingerprint": key.fingerprint(),
    }


@get("/audit/checkpoints", guards=[requires_audit], tags=["audit"])
async def list_checkpoints(
    request: Request[Any, Any, Any], limit: str | None = None, offset: str | None = None
) -> dict[str, object]:
    """Signed checkpoints of the event tree, newest first."""
    size, skip = page(limit, offset)
    total, rows = await services_of(request).core.tree.checkpoints(size, skip)
    return envelope(total, size, skip, [_checkpoint_json(cp) for cp in rows])


@get("/audit/proof", guards=[requires_audit], tags=["audit"])
async def inclusion_proof(
    request: Request[Any, Any, Any], position: str | None = None, tree_size: str | None = None
) -> dict[str, object]:
    """The RFC 6962 audit path of the event at `position` in the tree of `tree_size` events."""
    if given(position) is None:
        raise InvalidError("position is required (a store position ≥ 1)")
    at = int_param("position", position, 0, 1, MAX_SIZE)
    size = int_param("tree_size", tree_size, -1, 1, MAX_SIZE)
    proof = await services_of(request).core.tree.inclusion(at, None if size < 0 else size)
    return {
        "position": proof.position,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": proof.leaf_hash.hex(),
        "audit_path": [h.hex() for h in proof.audit_path],
        "root_hash": proof.root.hex(),
    }


@get("/audit/consistency", guards=[requires_audit], tags=["audit"])
async def consistency_proof(
    request: Request[Any, Any, Any],
    first: Annotated[str | None, Parameter(query="from")] = None,
    second: Annotated[str | None, Parameter(query="to")] = None,
) -> dict[str, object]:
    """The RFC 6962 proof that the tree of `from` events is a prefix of the tree of `to`."""
    tree = services_of(request).core.tree
    low = int_param("from", first, 0, 0, MAX_SIZE)
    high = int_param("to", second, -1, 0, MAX_SIZE)
    if high < 0:
        high = (await tree.head()).size
    proof = await tree.consistency(low, high)
    return {
        "from": proof.first,
        "to": proof.second,
        "from_root": proof.first_root.hex(),
        "to_root": proof.second_root.hex(),
        "proof": [h.hex() for h in proof.proof],
    }


@get("/audit/verify", guards=[requires_audit], tags=["audit"])
async def verify(request: Request[Any, Any, Any]) -> dict[str, object]:
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
    return {
        "ok": check.ok,
        "head": outcome.head,
        "verified_up_to": check.verified_up_to,
        "checkpoints_checked": check.checkpoints_checked,
        "events_checked": check.events,
        "seconds": round(seconds, 3),
        "first_mismatch": None
        if mismatch is None
        else {"position": mismatch.position, "kind": mismatch.kind, "detail": mismatch.detail},
    }


TAMPER_ROUTES = [public_key, list_checkpoints, inclusion_proof, consistency_proof, verify]
