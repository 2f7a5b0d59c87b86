"""When model updates wait: while the vehicle brakes or something worth a clip is happening.

A download or a model switch competes for the CPU, the disk and the uplink with braking and with the
clip recorder; it has no deadline, so it yields. The gate holds ``hold_s`` past the last brake request at or below
``-brake_mps2`` and past the last event at WARN or above (what the clip recorder triggers on).
"""

from __future__ import annotations

from av_edge.core.diagnostics import Level


class BusyGate:
    def __init__(self, brake_mps2: float, hold_s: float) -> None:
        self.brake_mps2 = brake_mps2
        self.hold_ns = round(hold_s * 1e9)
        self._busy_until_ns: int | None = None

    def on_brake_request(self, accel_mps2: float, now_ns: int) -> None:
        if accel_mps2 <= -self.brake_mps2:
            self._hold(now_ns)

    def on_event(self, level: Level, now_ns: int) -> None:
        if level >= Level.WARN:
            self._hold(now_ns)

    def paused(self, now_ns: int) -> bool:
        return self._busy_until_ns is not None and now_ns < self._busy_until_ns

    def _hold(self, now_ns: int) -> None:
        self._busy_until_ns = max(self._busy_until_ns or now_ns, now_ns + self.hold_ns)
