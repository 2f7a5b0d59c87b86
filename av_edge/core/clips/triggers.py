"""What starts a clip: trigger kinds, their priorities and rate limits, and the events that map to them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from av_edge.core.diagnostics import Level, Status


class TriggerKind(str, Enum):
    BRAKING = "braking"
    WARNING = "warning"
    DISAGREEMENT = "disagreement"
    WATCHDOG = "watchdog"
    MANUAL = "manual"


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    time_ns: int  # recorder clock, same as the ring's log times
    reason: str


@dataclass(frozen=True)
class TriggerRule:
    priority: int  # upload first / evict last: higher
    min_interval_s: float  # a second trigger of this kind sooner than this is suppressed (counted)


def trigger_from_event(event: Status, time_ns: int) -> Trigger | None:
    """The trigger an ``/av_edge/events`` status stands for (kind from the ``node/kind`` name), or None."""
    kind = event.name.rsplit("/", 1)[-1]
    if kind in ("emergency_braking", "partial_braking"):
        found = TriggerKind.BRAKING
    elif kind == "forward_collision_warning":
        found = TriggerKind.WARNING
    elif kind.endswith("disagreement"):
        found = TriggerKind.DISAGREEMENT
    elif kind == "watchdog" and event.level >= Level.WARN:  # a fault raised (degraded or worse), not its recovery
        found = TriggerKind.WATCHDOG
    else:
        return None
    return Trigger(found, time_ns, f"{event.name}: {event.message}")


class BrakeOnset:
    """Braking onset from the brake request stream (independent of the events channel)."""

    def __init__(self, threshold_mps2: float) -> None:
        self.threshold = threshold_mps2
        self._braking = False

    def update(self, accel_mps2: float, time_ns: int) -> Trigger | None:
        braking = accel_mps2 <= -self.threshold
        onset, self._braking = braking and not self._braking, braking
        return Trigger(TriggerKind.BRAKING, time_ns, f"brake request {accel_mps2:.1f} m/s^2") if onset else None


class RateLimiter:
    """At most one trigger of a kind per its ``min_interval_s``; suppressed ones are counted per kind."""

    def __init__(self, rules: dict[TriggerKind, TriggerRule]) -> None:
        self.rules = rules
        self._last_ns: dict[TriggerKind, int] = {}
        self.accepted: dict[TriggerKind, int] = dict.fromkeys(rules, 0)
        self.suppressed: dict[TriggerKind, int] = dict.fromkeys(rules, 0)

    def allow(self, trigger: Trigger) -> bool:
        last = self._last_ns.get(trigger.kind)
        if last is not None and trigger.time_ns - last < self.rules[trigger.kind].min_interval_s * 1e9:
            self.suppressed[trigger.kind] += 1
            return False
        self._last_ns[trigger.kind] = trigger.time_ns
        self.accepted[trigger.kind] += 1
        return True
