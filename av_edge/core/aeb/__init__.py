"""Autonomous emergency braking: predicted path, threat assessment, staged response, watchdog."""

from av_edge.core.aeb.availability import Availability, Fault, Telltale, TelltalePublisher
from av_edge.core.aeb.config import (
    AebConfig,
    BrakeConfig,
    CorridorConfig,
    ObjectsConfig,
    WatchdogConfig,
)
from av_edge.core.aeb.core import AebCore, Decision
from av_edge.core.aeb.staging import AebState, next_state, requested_decel, threat_level
from av_edge.core.aeb.threat import (
    Obstacle,
    Threat,
    beyond_threats,
    crossing_threats,
    nearest_obstacle,
    required_decel,
    time_to_collision,
)

__all__ = [
    "AebConfig",
    "AebCore",
    "AebState",
    "Availability",
    "BrakeConfig",
    "CorridorConfig",
    "Decision",
    "Fault",
    "ObjectsConfig",
    "Obstacle",
    "Telltale",
    "TelltalePublisher",
    "Threat",
    "WatchdogConfig",
    "beyond_threats",
    "crossing_threats",
    "nearest_obstacle",
    "next_state",
    "requested_decel",
    "required_decel",
    "threat_level",
    "time_to_collision",
]
