"""The vehicle's body: shared by the AEB, perception, the planner and the simulator."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.config import bounded


@dataclass(frozen=True)
class VehicleConfig:
    width_m: float = bounded(0.5, 4.0, "body width")
    front_overhang_m: float = bounded(0.0, 20.0, "base_link (rear axle) to front bumper")
    height_m: float = bounded(0.5, 5.0, "roof height above ground")
