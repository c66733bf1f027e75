"""Simulation time: days since an origin, the data cutoff at the end of ``as_of``, the horizon's end."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cxdata.synth.params import SynthParams

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Timeline:
    """Simulation time in days since ``origin``; the data ends at ``cutoff``, the truth at ``end``.

    The cutoff is the local midnight that ends the ``as_of`` day in the project's
    timezone, so every record in data/ falls on or before ``as_of`` there.
    """

    origin_us: int
    cutoff: float
    end: float
    cutoff_utc: datetime = field(compare=False)

    @classmethod
    def of(cls, params: SynthParams) -> Timeline:
        """The timeline of a run: origin ``history_days`` before the cutoff, end ``horizon_days`` after."""
        local = datetime.combine(params.as_of + timedelta(days=1), time(0), ZoneInfo(params.timezone))
        cutoff_utc = local.astimezone(UTC)
        cutoff_us = int(cutoff_utc.timestamp()) * 1_000_000
        origin_us = cutoff_us - params.history_days * SECONDS_PER_DAY * 1_000_000
        return cls(
            origin_us, float(params.history_days), float(params.history_days + params.horizon_days), cutoff_utc
        )

    def to_us(self, days: np.ndarray) -> np.ndarray:
        """Days since origin to epoch microseconds, rounded down to whole seconds like the sources."""
        return self.origin_us + self.seconds(days) * 1_000_000

    def utc_offsets(self, zone: str) -> tuple[np.ndarray, np.ndarray]:
        """The zone's UTC offset changes over the simulated period: instants (epoch us) and offsets (us).

        ``offsets[searchsorted(instants, t, side="right")]`` is the offset in force at ``t``.
        """
        tz = ZoneInfo(zone)

        def offset(moment: datetime) -> int:
            return int(moment.astimezone(tz).utcoffset().total_seconds())

        start = datetime.fromtimestamp(self.origin_us // 1_000_000, UTC) - timedelta(days=2)
        # weekly probes (a zone changes offset at most once a week), each change bisected to the second
        stamps = [start + timedelta(weeks=w) for w in range(int(self.end // 7) + 3)]
        instants, offsets = [], [offset(stamps[0])]
        for a, b in itertools.pairwise(stamps):
            if offset(a) != offset(b):
                lo, hi = a, b
                while hi - lo > timedelta(seconds=1):
                    mid = lo + (hi - lo) / 2
                    lo, hi = (mid, hi) if offset(mid) == offset(a) else (lo, mid)
                instants.append(int(hi.timestamp()) * 1_000_000)
                offsets.append(offset(b))
        return np.asarray(instants, dtype=np.int64), np.asarray(offsets, dtype=np.int64) * 1_000_000

    @staticmethod
    def seconds(days: np.ndarray) -> np.ndarray:
        """Whole seconds since origin."""
        return np.floor(np.asarray(days, dtype=np.float64) * SECONDS_PER_DAY).astype(np.int64)

    def chronological(self, days: np.ndarray) -> np.ndarray:
        """Indexes that put ``days`` (all >= 0) in time order to the second, ties by index."""
        n = np.asarray(days).size
        bits = max(n.bit_length(), 1)
        # sorting packed (second, index) values is several times faster than a stable argsort
        packed = np.sort((self.seconds(days) << bits) | np.arange(n, dtype=np.int64))
        return packed & ((1 << bits) - 1)

    @property
    def cutoff_us(self) -> int:
        return self.origin_us + int(self.cutoff) * SECONDS_PER_DAY * 1_000_000
