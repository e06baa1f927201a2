"""What verifying an evidence bundle found: every failure names a member, a kind and a position."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from domain.audit.checkpoint import Checkpoint
from domain.shared.text import counted


@dataclass(frozen=True, slots=True)
class Failure:
    """One thing that does not verify."""

    member: str
    kind: str
    detail: str
    position: int | None = None

    def line(self) -> str:
        """`FAIL member [position P] kind: detail`."""
        at = f" position {self.position}" if self.position is not None else ""
        return f"FAIL {self.member}{at} {self.kind}: {self.detail}"


@dataclass(slots=True)
class VerificationReport:
    """The outcome of `verify_bundle`: counts of what verified, and every failure."""

    bundle: str
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None
    checkpoint: Checkpoint | None = None
    subject: Any = None
    events: int = 0
    records: int = 0
    artifacts: int = 0

    @property
    def ok(self) -> bool:
        """Whether everything verified."""
        return not self.failures

    def fail(self, member: str, kind: str, detail: str, position: int | None = None) -> None:
        """Record a failure."""
        self.failures.append(Failure(member, kind, detail, position))

    def failed_members(self) -> set[str]:
        """The members some failure names."""
        return {f.member for f in self.failures}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (`decnet evidence verify --json`)."""
        return {
            "ok": self.ok,
            "bundle": self.bundle,
            "key_fingerprint": self.key_fingerprint,
            "checkpoint": asdict(self.checkpoint) if self.checkpoint else None,
            "subject": self.subject,
            "verified": {
                "events": self.events,
                "records": self.records,
                "artifacts": self.artifacts,
            },
            "failures": [asdict(f) for f in self.failures],
            "warnings": self.warnings,
        }

    def lines(self) -> list[str]:
        """A human summary, one fact a line, failures last."""
        cp = self.checkpoint
        out = [f"bundle      {self.bundle}", f"signing key {self.key_fingerprint or '-'}"]
        if cp is not None:
            out.append(
                f"checkpoint  tree_size {cp.tree_size} root {cp.root_hash} at {cp.timestamp}"
            )
        out.append(
            f"verified    {counted(self.events, 'event')}, {counted(self.records, 'record')},"
            f" {counted(self.artifacts, 'artifact')}"
        )
        out += [f"WARN {w}" for w in self.warnings]
        out += [f.line() for f in self.failures]
        out.append("OK" if self.ok else f"FAILED ({len(self.failures)} problems)")
        return out
