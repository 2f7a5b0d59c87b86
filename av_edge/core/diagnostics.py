"""ROS-free diagnostic statuses; ``av_edge.ros.messages`` turns them into ``diagnostic_msgs``."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from enum import IntEnum


class Level(IntEnum):
    """Same values as ``diagnostic_msgs/DiagnosticStatus``."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass(frozen=True)
class Status:
    level: Level
    name: str
    message: str
    hardware_id: str = ""
    values: dict[str, str] = field(default_factory=dict)


def worst(*levels: Level) -> Level:
    """The most severe level (STALE counts as worse than ERROR, as in diagnostic_aggregator)."""
    return max(levels, default=Level.OK)


def fmt(value: float, digits: int = 2) -> str:
    """Format a number for a diagnostics key/value (``nan`` stays readable)."""
    return f"{value:.{digits}f}"


class EventLimiter:
    """Events rate-limited per cause (their ``name``): at most one every ``min_interval_s``.

    A repeat within the interval is held back, not lost: the latest one held goes out once the
    interval has passed, carrying ``suppressed`` (how many of that cause were folded into it), so a
    monitor sees the cause's last state and how often it flapped, not 20 messages a second. An
    escalation (a level above the last one sent for that cause) is never held: a fault is told at once.
    """

    def __init__(self, min_interval_s: float) -> None:
        self._interval_ns = round(min_interval_s * 1e9)
        self._sent_ns: dict[str, int] = {}
        self._sent_level: dict[str, Level] = {}
        self._held: dict[str, tuple[Status, int]] = {}  # name -> (latest held, repeats folded into it)

    def push(self, event: Status) -> None:
        previous = self._held.get(event.name)
        self._held[event.name] = (event, 0 if previous is None else previous[1] + 1)

    def drain(self, now_ns: int) -> list[Status]:
        """The events due at ``now_ns``, oldest cause first."""
        out = []
        for name, (event, folded) in list(self._held.items()):
            sent = self._sent_ns.get(name)
            escalation = event.level > self._sent_level.get(name, Level.OK)
            if sent is not None and now_ns - sent < self._interval_ns and not escalation:
                continue
            values = {**event.values, "suppressed": str(folded)} if folded else event.values
            out.append(replace(event, values=values))
            self._sent_ns[name] = now_ns
            self._sent_level[name] = event.level
            del self._held[name]
        return out


class ChangeOrPeriod:
    """When to (re)send a latched state: on every change of its key, and every ``period_s`` while unchanged."""

    def __init__(self, period_s: float) -> None:
        self._period_ns = int(period_s * 1e9)
        self._key: Hashable | None = None
        self._sent_ns: int | None = None

    def due(self, key: Hashable, now_ns: int) -> bool:
        if self._sent_ns is None or key != self._key or now_ns - self._sent_ns >= self._period_ns:
            self._key, self._sent_ns = key, now_ns
            return True
        return False
