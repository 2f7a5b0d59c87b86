"""Rolling latency and rate statistics, fed with explicit timestamps (no clock reads)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    deadline_misses: int


class LatencyTracker:
    """Last ``window`` latencies (ms) plus a lifetime count of samples over ``budget_ms``."""

    def __init__(self, window: int, budget_ms: float) -> None:
        self._samples = np.full(window, np.nan)
        self._next = 0
        self._total = 0
        self.budget_ms = budget_ms
        self.deadline_misses = 0

    def add(self, stamp_ns: int, now_ns: int) -> float:
        """Record ``now_ns - stamp_ns``; return it in milliseconds."""
        latency_ms = (now_ns - stamp_ns) / 1e6
        self._samples[self._next] = latency_ms
        self._next = (self._next + 1) % self._samples.size
        self._total += 1
        if latency_ms > self.budget_ms:
            self.deadline_misses += 1
        return latency_ms

    def summary(self) -> LatencySummary:
        valid = self._samples[~np.isnan(self._samples)]
        if valid.size == 0:
            return LatencySummary(self._total, float("nan"), float("nan"), float("nan"), self.deadline_misses)
        p50, p99 = np.percentile(valid, [50, 99])
        return LatencySummary(self._total, float(p50), float(p99), float(valid.max()), self.deadline_misses)


class RateTracker:
    """Arrival rate over the last ``window`` arrivals and the age of the newest one."""

    def __init__(self, window: int = 20) -> None:
        self._arrivals = np.full(window, np.nan)
        self._next = 0
        self.count = 0

    def add(self, now_ns: int) -> None:
        self._arrivals[self._next] = now_ns
        self._next = (self._next + 1) % self._arrivals.size
        self.count += 1

    def rate_hz(self) -> float:
        valid = np.sort(self._arrivals[~np.isnan(self._arrivals)])
        if valid.size < 2 or valid[-1] == valid[0]:
            return 0.0
        return float((valid.size - 1) / ((valid[-1] - valid[0]) / 1e9))

    def age_s(self, now_ns: int) -> float:
        """Seconds since the last arrival (inf before the first)."""
        if self.count == 0:
            return float("inf")
        return (now_ns - float(np.nanmax(self._arrivals))) / 1e9
