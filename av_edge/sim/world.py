"""Scene description: a flat road (z = 0) with box obstacles standing on it, in the odom frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded


@dataclass(frozen=True)
class Box:
    """Axis-aligned box; (x, y) is the centre of its footprint, it spans z_min..z_min + height."""

    x: float
    y: float
    length: float
    width: float
    height: float
    label: str = "car"
    z_min: float = 0.0

    @property
    def rear_x(self) -> float:
        return self.x - self.length / 2

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners."""
        return (
            np.array([self.x - self.length / 2, self.y - self.width / 2, self.z_min]),
            np.array([self.x + self.length / 2, self.y + self.width / 2, self.z_min + self.height]),
        )


@dataclass(frozen=True)
class StalledCarScenario:
    """Ego drives at constant speed towards a stopped car ahead in its lane."""

    name: str
    ego_speed_kmh: float = bounded(0.0, 200.0)
    lead_gap_m: float = bounded(1.0, 200.0, "initial gap, ego front bumper to lead rear bumper")
    lead_lateral_offset_m: float = bounded(-5.0, 5.0, "lead centre relative to the ego lane centre")
    lead_length_m: float = bounded(1.0, 20.0)
    lead_width_m: float = bounded(0.5, 4.0)
    lead_height_m: float = bounded(0.5, 5.0)
    duration_s: float = bounded(1.0, 600.0, "scenario time limit")

    def obstacles(self, ego_front_x: float) -> tuple[Box, ...]:
        lead_x = ego_front_x + self.lead_gap_m + self.lead_length_m / 2
        return (Box(lead_x, self.lead_lateral_offset_m, self.lead_length_m, self.lead_width_m, self.lead_height_m),)
