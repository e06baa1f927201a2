"""An evidence export waits for the logs model to reach the attackers model, and gives up."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import anyio
import pytest

from domain.shared.errors import UnavailableError
from interfaces import evidence_export
from interfaces.services import Core


class _Facts:
    """Positions that move one step per read, as a projector catching up would."""

    def __init__(self, answers: list[dict[str, int]]) -> None:
        self.answers = answers
        self.reads = 0

    async def positions(self) -> dict[str, int]:
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        return answer


def _core(facts: _Facts) -> Core:
    return cast(Core, SimpleNamespace(projection_facts=facts))


def test_the_export_waits_until_the_logs_model_has_the_attackers_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence_export.anyio, "sleep", _no_sleep)
    facts = _Facts(
        [{"attackers": 9, "logs": 7}, {"attackers": 10, "logs": 9}, {"attackers": 10, "logs": 10}]
    )
    anyio.run(evidence_export._logs_caught_up, _core(facts))
    assert facts.reads == 3


def test_a_logs_model_ahead_or_without_attackers_needs_no_wait() -> None:
    for answer in ({"attackers": 4, "logs": 6}, {"logs": 0}):
        facts = _Facts([answer])
        anyio.run(evidence_export._logs_caught_up, _core(facts))
        assert facts.reads == 1


def test_a_logs_model_that_never_catches_up_is_a_503_not_a_partial_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence_export, "TREE_WAIT_S", 0.0)
    monkeypatch.setattr(evidence_export.anyio, "sleep", _no_sleep)
    facts = _Facts([{"attackers": 5, "logs": 4}])
    with pytest.raises(UnavailableError, match="logs model"):
        anyio.run(evidence_export._logs_caught_up, _core(facts))


async def _no_sleep(*_: Any) -> None:
    return None
