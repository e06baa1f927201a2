"""`/attackers/{uuid}/evidence`: an attacker's verifiable evidence bundle, streamed as a `.zip`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO, Any

import anyio.to_thread
from litestar import Request, get
from litestar.response import Stream

from interfaces.evidence_export import EvidenceExporter
from interfaces.http.auth import command_meta, requires_audit, services_of
from interfaces.http.commands import settle
from interfaces.http.openapi import raw_answer
from interfaces.http.params import uuid_param
from interfaces.http.routes.attackers import AttackerId

CHUNK = 1 << 16


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
            yield chunk
    finally:
        file.close()


@get(
    "/attackers/{uuid:str}/evidence",
    guards=[requires_audit],
    tags=["attackers"],
    responses=raw_answer(bytes, "application/zip", "The evidence bundle, as an attachment"),
)
async def attacker_evidence(request: Request[Any, Any, Any], uuid: AttackerId) -> Stream:
    """The attacker's evidence bundle (auditor, admin); check it with `decnet evidence verify`."""
    ident = uuid_param("attacker uuid", uuid)
    exporter = EvidenceExporter(services_of(request).core)
    bundle = await exporter.export(command_meta(request), ident)
    # Read-your-writes: the audit trail shows the export, and the checkpoint list the checkpoint
    # the bundle proves against, when the auditor looks right after downloading it.
    await settle(services_of(request), bundle.position, ["audit", "merkle"])
    return Stream(
        _chunks(bundle.file),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "Content-Length": str(bundle.size),
            "X-Content-Type-Options": "nosniff",
        },
    )
