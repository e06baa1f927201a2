"""Incremental inter-arrival timing for one attacker (SPEC §6).

Arrival order: IATs follow the order records are fed in, which for a projection is the
event-log order, so a rebuild replays exactly the same sequence. Records may arrive
slightly out of timestamp order; each IAT is therefore measured from the latest
timestamp seen so far and clamped at zero. A late record counts as simultaneous with
its predecessor instead of producing a negative gap or inflating the next one.

Mean and variance use Welford's online update. The standard deviation is the
*population* one (`statistics.pstdev`): the IATs are every gap observed, not a sample,
and it is defined from the first IAT on. `cv` = stdev / mean, and 0.0 when the mean is 0
(all records simultaneous: no dispersion at all).

Median: exact while at most `MEDIAN_WINDOW` IATs have been seen; after that it is the
median of the most recent `MEDIAN_WINDOW` IATs, which keeps the state per attacker bounded.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.attackers.timefmt import iso_z_or_none, parse_ts_or_none

MEDIAN_WINDOW = 512


@dataclass(slots=True)
class TimingState:
    """Running timing aggregates; `first_ts`/`last_ts` are the earliest/latest timestamps seen."""

    event_count: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    mean_iat: float = 0.0
    m2: float = 0.0
    min_iat: float | None = None
    max_iat: float | None = None
    recent_iats: list[float] = field(default_factory=list)

    def add(self, ts: datetime) -> None:
        """Account for one more record at `ts`."""
        first, last = self.first_ts, self.last_ts
        if first is None or last is None:
            self.first_ts = self.last_ts = ts
        elif ts > last:
            self._add_iat((ts - last).total_seconds(), self.event_count)
            self.last_ts = ts
        else:  # not after the latest: simultaneous with it (an IAT of 0)
            self._add_iat(0.0, self.event_count)
            if ts < first:
                self.first_ts = ts
        self.event_count += 1

    def _add_iat(self, iat: float, iat_count: int) -> None:
        delta = iat - self.mean_iat
        self.mean_iat += delta / iat_count
        self.m2 += delta * (iat - self.mean_iat)
        if self.min_iat is None or iat < self.min_iat:
            self.min_iat = iat
        if self.max_iat is None or iat > self.max_iat:
            self.max_iat = iat
        recent = self.recent_iats
        recent.append(iat)
        if len(recent) > MEDIAN_WINDOW:
            del recent[0]

    @property
    def iat_count(self) -> int:
        """How many IATs the aggregates cover (one fewer than the records)."""
        return max(self.event_count - 1, 0)

    @property
    def mean(self) -> float | None:
        """Mean IAT in seconds; None before two records."""
        return self.mean_iat if self.iat_count else None

    @property
    def stdev(self) -> float | None:
        """Population standard deviation of the IATs; None before two records."""
        if not self.iat_count:
            return None
        return math.sqrt(max(self.m2, 0.0) / self.iat_count)

    @property
    def cv(self) -> float | None:
        """Coefficient of variation (stdev / mean); 0.0 for an all-zero mean."""
        if self.stdev is None:
            return None
        return self.stdev / self.mean_iat if self.mean_iat > 0 else 0.0

    @property
    def median(self) -> float | None:
        """Median IAT over the recent window; None before two records."""
        return statistics.median(self.recent_iats) if self.recent_iats else None

    @property
    def duration_s(self) -> float | None:
        """Seconds from the earliest to the latest timestamp; None with no records."""
        if self.first_ts is None or self.last_ts is None:
            return None
        return (self.last_ts - self.first_ts).total_seconds()

    def snapshot(self) -> dict[str, Any]:
        """SPEC's `timing_stats` object."""
        return {
            "event_count": self.event_count,
            "duration_s": self.duration_s,
            "mean_iat_s": self.mean,
            "median_iat_s": self.median,
            "stdev_iat_s": self.stdev,
            "min_iat_s": self.min_iat,
            "max_iat_s": self.max_iat,
            "cv": self.cv,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that `from_dict` turns back into an equal state."""
        return {
            "event_count": self.event_count,
            "first_ts": iso_z_or_none(self.first_ts),
            "last_ts": iso_z_or_none(self.last_ts),
            "mean_iat": self.mean_iat,
            "m2": self.m2,
            "min_iat": self.min_iat,
            "max_iat": self.max_iat,
            "recent_iats": list(self.recent_iats),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimingState:
        """Rebuild from `to_dict` output (numbers coerced: JSONB may hand back ints)."""
        return cls(
            event_count=int(data["event_count"]),
            first_ts=parse_ts_or_none(data["first_ts"]),
            last_ts=parse_ts_or_none(data["last_ts"]),
            mean_iat=float(data["mean_iat"]),
            m2=float(data["m2"]),
            min_iat=_float_or_none(data["min_iat"]),
            max_iat=_float_or_none(data["max_iat"]),
            recent_iats=[float(v) for v in data["recent_iats"]],
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
