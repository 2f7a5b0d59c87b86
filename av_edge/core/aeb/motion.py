"""Motion of the in-path obstacle from the AEB's own scans: its speed along the path from the range rate.

The obstacle's position along the path is the ego's odometer plus the gap; a least-squares line
through the last few positions gives its speed once ``min_samples`` scans agree with it. Nothing is
assumed before: a lead followed from the first scan, a car cutting in at the ego's speed or one
accelerating away is never taken for a stopped one. Two scans are not enough: while a car slides
into the corridor, the corridor's edge runs along its side and the gap shrinks by metres a scan
with the car not closing at all; a third scan off that line shows it. A gap that jumps away from the
prediction (a cut-out revealing another car, a different object) starts a new history. A scan
with nothing in the path is a missing measurement, not a clear road, for up to ``max_gap_s``: a low
or distant obstacle (debris, 30 % dropout) has its five returns on some scans and not on others, and
forgetting it on each miss left its speed unknown until it was 20 m away at 80 km/h.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from av_edge.core.config import Rule, below, bounded


@dataclass(frozen=True)
class MotionConfig:
    window: int = bounded(2, 20, "scans in the range-rate fit (short: a braking lead lags less)")
    min_samples: int = bounded(2, 20, "scans on one line before the speed counts")
    gate_m: float = bounded(0.1, 10.0, "largest miss of the predicted gap that is still the same obstacle")
    max_speed_mps: float = bounded(1.0, 100.0, "fastest plausible obstacle (gates the second scan)")
    max_gap_s: float = bounded(0.0, 2.0, "scans with nothing in the path keep the history this long (flicker)")

    RULES: ClassVar[tuple[Rule, ...]] = (
        below("min_samples", "window", "the fit holds min_samples scans", strict=False),
    )


class InPathMotion:
    """Feed one in-path gap per scan (or None when the path is clear); read the obstacle's speed."""

    def __init__(self, config: MotionConfig) -> None:
        self.config = config
        self._odometer = 0.0
        self._last_ns: int | None = None
        self._samples: deque[tuple[float, float]] = deque(maxlen=config.window)  # (t s, position m)
        self.speed_mps: float | None = None  # this scan's obstacle's speed: None until measured, or no obstacle
        self._fitted: float | None = None  # the history's speed, kept across scans with no obstacle

    def update(self, gap_m: float | None, ego_speed_mps: float, stamp_ns: int) -> float | None:
        """The obstacle's speed along the path (m/s), or None while it has been seen only once."""
        dt = 0.0 if self._last_ns is None else max((stamp_ns - self._last_ns) / 1e9, 0.0)
        self._last_ns = stamp_ns
        self._odometer += ego_speed_mps * dt
        t = stamp_ns / 1e9
        if self._samples and t - self._samples[-1][0] > self.config.max_gap_s:
            self._forget()
        if gap_m is None:
            self.speed_mps = None
            return None
        position = self._odometer + gap_m
        if self._samples and not self._same(t, position):
            self._forget()
        self._samples.append((t, position))
        self._fitted = self._fit() if len(self._samples) >= self.config.min_samples else None
        self.speed_mps = self._fitted
        return self.speed_mps

    def _forget(self) -> None:
        self._samples.clear()
        self._fitted = None

    def _same(self, t: float, position: float) -> bool:
        last_t, last_position = self._samples[-1]
        dt = t - last_t
        if self._fitted is None:
            return abs(position - last_position) <= self.config.max_speed_mps * dt + self.config.gate_m
        return abs(position - (last_position + self._fitted * dt)) <= self.config.gate_m

    def _fit(self) -> float | None:
        """Slope of the line through the samples; None when one of them is off it by more than half the gate."""
        t, position = np.array(self._samples).T
        t = t - t.mean()
        slope = float((t * (position - position.mean())).sum() / max((t * t).sum(), 1e-9))
        residual = position - position.mean() - slope * t
        return slope if np.abs(residual).max() <= self.config.gate_m / 2 else None
