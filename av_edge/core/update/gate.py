"""When model updates wait: while the vehicle brakes or something worth a clip is happening.

A download or a model switch competes for the CPU, the disk and the uplink with braking and with the
clip recorder; it has no deadline, so it yields. The gate holds ``hold_s`` past the last brake request at or below
``-brake_mps2``, past the last AEB event (a warning or braking: the clip recorder cuts a clip) and
past the last event at WARN or above (faults, which the clip recorder also records).
"""

from __future__ import annotations

from av_edge.core.diagnostics import Level, Status


class BusyGate:
    def __init__(self, brake_mps2: float, hold_s: float) -> None:
        self.brake_mps2 = brake_mps2
        self.hold_ns = round(hold_s * 1e9)
        self._busy_until_ns: int | None = None

    def on_brake_request(self, accel_mps2: float, now_ns: int) -> None:
        if accel_mps2 <= -self.brake_mps2:
            self._hold(now_ns)

    def on_event(self, event: Status, now_ns: int) -> None:
        if event.level >= Level.WARN or event.name.startswith("aeb/"):
            self._hold(now_ns)

    def paused(self, now_ns: int) -> bool:
        return self._busy_until_ns is not None and now_ns < self._busy_until_ns

    def _hold(self, now_ns: int) -> None:
        self._busy_until_ns = max(self._busy_until_ns or now_ns, now_ns + self.hold_ns)
