"""ROS-free diagnostic statuses; ``av_edge.ros.messages`` turns them into ``diagnostic_msgs``."""

from __future__ import annotations

from dataclasses import dataclass, field
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
