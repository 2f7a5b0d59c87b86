"""The AEB's availability telltale (FMVSS No. 127 S5.4): available, degraded, or unavailable, and why.

One latched message for an HMI or a downstream control stack, from the watchdog's faults: a
fault that leaves the AEB nothing to brake on (no LiDAR, no valid speed) makes it unavailable;
any other (a blocked sector, a clock jump) degraded: it still brakes on what is left, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from av_edge.core.diagnostics import ChangeOrPeriod, Level, Status

PERIOD_NS = 1_000_000_000  # republished this often while unchanged (a latecomer also gets it latched)


class Availability(Enum):
    AVAILABLE = "available"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"


_LEVEL = {Availability.AVAILABLE: Level.OK, Availability.DEGRADED: Level.WARN, Availability.UNAVAILABLE: Level.ERROR}


@dataclass(frozen=True)
class Fault:
    """A watchdog finding: which input, why, and whether braking is left with nothing to go on."""

    sensor: str  # "lidar", "odometry", "clock"
    kind: str  # "dead", "stale", "invalid", "blocked", "jump": what a change of the telltale is judged on
    reason: str  # for people, with the numbers (an age, the sectors)
    disabling: bool


@dataclass(frozen=True)
class Telltale:
    availability: Availability
    faults: tuple[Fault, ...]

    @classmethod
    def of(cls, faults: Iterable[Fault]) -> Telltale:
        found = tuple(faults)
        if any(f.disabling for f in found):
            return cls(Availability.UNAVAILABLE, found)
        return cls(Availability.DEGRADED if found else Availability.AVAILABLE, found)

    @property
    def level(self) -> Level:
        return _LEVEL[self.availability]

    def key(self) -> tuple[Availability, frozenset[tuple[str, str]]]:
        return self.availability, frozenset((f.sensor, f.kind) for f in self.faults)

    def status(self, degraded_action: str) -> Status:
        """As a diagnostic status: level OK / WARN / ERROR, one value per faulty sensor."""
        message = self.availability.value
        if self.faults:
            message += f": {'; '.join(f'{f.sensor}: {f.reason}' for f in self.faults)}"
        values = {"availability": self.availability.value}
        if self.availability is not Availability.AVAILABLE:
            values["degraded_action"] = degraded_action
        for fault in self.faults:
            values[fault.sensor] = f"{values[fault.sensor]}; {fault.reason}" if fault.sensor in values else fault.reason
        return Status(self.level, "av_edge: aeb availability", message, "aeb", values)


class TelltalePublisher:
    """When to (re)send the telltale: on every change, and every ``PERIOD_NS`` while unchanged."""

    def __init__(self) -> None:
        self._when = ChangeOrPeriod(PERIOD_NS / 1e9)

    def due(self, telltale: Telltale, now_ns: int) -> bool:
        """A change is another availability or another set of (sensor, kind): a stale input's growing
        age is not one, or the telltale would go out at the watchdog's 20 Hz."""
        return self._when.due(telltale.key(), now_ns)
