"""Exporting an attacker's evidence bundle (docs/forensics.md): events, proofs, artifacts.

Every batch event holding a record of the attacker goes in, cut down to the attacker's records
(each with its proof in the batch's records tree); every event gets its audit path against the
latest signed checkpoint, and a fresh checkpoint is signed when the latest does not yet cover the
attacker's last event. The writer checks every proof before it accepts an event, so a bundle
that would not verify is never sent. The export is recorded as an event (`evidence_exported`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
import structlog

from domain.audit.canonical import split_batch
from domain.audit.evidence import EventRow
from domain.history.tamper import EvidenceExport
from domain.observations.addresses import canonical_ip
from domain.shared.errors import NotFoundError, UnavailableError
from domain.shared.meta import CommandMeta
from infrastructure.audit.bundle import BundleError, BundleWriter
from interfaces.services import Core
from projections.evidence_queries import EvidenceQueries

log = structlog.get_logger()
TREE_WAIT_S = 15.0
T = TypeVar("T")


@dataclass
class ExportedBundle:
    """The written `.zip` (a temporary file, rewound) and what it holds."""

    file: IO[bytes]
    size: int
    filename: str
    position: int  # of the export's own event (after the checkpoint it may have signed)


def _attacker_records(row: EventRow, ip: str) -> list[dict[str, Any]]:
    batch = split_batch(row.topic, row.state)
    if batch is None:
        return []
    return [r for r in batch.records if _is_of(r, ip)]


def _is_of(record: Any, ip: str) -> bool:
    """Whether a stored record is attacker `ip`'s. A record stored before stop 33 may spell an
    IPv4 peer `::ffff:102:304`; the read models count it for the IPv4 attacker, so it is part
    of that attacker's evidence, as stored (docs/events.md)."""
    if not isinstance(record, dict):
        return False
    stored = record.get("attacker_ip")
    return isinstance(stored, str) and (stored == ip or canonical_ip(stored) == ip)


def _captured_sha256(record: dict[str, Any]) -> str | None:
    """The SHA-256 a `file_captured` record names (None for any other record)."""
    fields = record.get("fields")
    if record.get("event_type") != "file_captured" or not isinstance(fields, dict):
        return None
    digest = fields.get("sha256")
    return digest if isinstance(digest, str) and fields.get("stored_as") else None


async def _awaited(check: Callable[[], Awaitable[T | None]], lagging: str) -> T:
    """`check`'s first answer other than None, asked every 0.2 s; 503 after `TREE_WAIT_S`
    (`lagging` names the model that has not caught up)."""
    deadline = anyio.current_time() + TREE_WAIT_S
    while True:
        answer = await check()
        if answer is not None:
            return answer
        if anyio.current_time() > deadline:
            raise UnavailableError(f"{lagging} has not caught up yet; retry")
        await anyio.sleep(0.2)


async def _leaf_indices(core: Core, positions: list[int]) -> dict[int, int]:
    """Leaf index of every position, waiting briefly for the tree model to catch up."""

    async def complete() -> dict[int, int] | None:
        indices = await core.tree.leaf_indices(positions)
        return indices if len(indices) == len(positions) else None

    return await _awaited(complete, "the tamper-evidence tree")


async def _logs_caught_up(core: Core) -> None:
    """Wait until the logs model has applied every event the attackers model has.

    The attacker comes from the attackers model and its batches from the logs model's attacker
    index; the two follow the store separately, so a fresh attacker can be profiled before its
    records are indexed, and the bundle would miss them (or 404 with none).
    """

    async def caught_up() -> bool | None:
        positions = await core.projection_facts.positions()
        return True if positions.get("logs", 0) >= positions.get("attackers", 0) else None

    await _awaited(caught_up, "the logs model")


class EvidenceExporter:
    """Builds one attacker's bundle from the store, the tree model and the artifact store."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._queries = EvidenceQueries(core.pool)

    async def export(self, meta: CommandMeta, uuid: UUID) -> ExportedBundle:
        """The bundle of attacker `uuid` (404 unknown or without stored records)."""
        core = self._core
        attacker = await core.read_models.live().attackers.one(uuid)
        if attacker is None:
            raise NotFoundError(f"attacker {uuid} not found")
        ip = attacker.ip
        await _logs_caught_up(core)
        positions = await self._queries.batch_positions(ip)
        rows = await self._queries.stored_rows(positions)
        if not rows:
            raise NotFoundError(f"no stored event holds a record of attacker {uuid}")
        indices = await _leaf_indices(core, [r.position for r in rows])
        signed = await core.checkpointer.covering(max(indices.values()))
        size = signed.checkpoint.tree_size
        subject = {"attacker_uuid": str(uuid), "attacker_ip": ip}
        writer = BundleWriter(core.signing_key, signed, subject)

        keep = partial(_is_of, ip=ip)
        records = 0
        captured: dict[str, dict[str, Any]] = {}
        for row in rows:
            proof = await core.tree.inclusion(row.position, size)
            records += writer.add_event(row, proof.leaf_index, proof.audit_path, keep)
            for record in _attacker_records(row, ip):
                digest = _captured_sha256(record)
                if digest is not None:
                    captured[digest] = record
        artifacts = await anyio.to_thread.run_sync(self._add_artifacts, writer, captured)
        out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, closed there
        try:
            await anyio.to_thread.run_sync(writer.write, out)
            length = out.tell()
            out.seek(0)
            event = EvidenceExport.record(
                meta, str(uuid), ip, size, (len(rows), records, artifacts)
            )
            position = await anyio.to_thread.run_sync(core.store.save_all, event)
        except BaseException:
            out.close()
            raise
        log.info("evidence_exported", attacker=str(uuid), events=len(rows), tree_size=size)
        return ExportedBundle(out, length, f"evidence-{uuid}.zip", position)

    def _add_artifacts(self, writer: BundleWriter, captured: dict[str, dict[str, Any]]) -> int:
        """Add each captured file whose bytes are still stored and still hash to its record."""
        added = 0
        for digest, record in sorted(captured.items()):
            fields = record["fields"]
            try:
                path: Path = self._core.artifacts.find(
                    str(record.get("decky")), str(fields["stored_as"]), record.get("service")
                )
                writer.add_artifact(path, digest)
            except (NotFoundError, BundleError, OSError, ValueError) as e:
                log.warning("evidence_artifact_skipped", sha256=digest, error=str(e))
                continue
            added += 1
        return added
