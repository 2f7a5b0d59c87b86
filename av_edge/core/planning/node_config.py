"""Parameters of planner_node (``config/planner.params.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.config import bounded
from av_edge.core.ego import OdometryLimits
from av_edge.core.planning.planner import PlannerConfig


@dataclass(frozen=True)
class PlannerNodeConfig:
    planner: PlannerConfig
    odometry_limits: OdometryLimits
    rate_hz: float = bounded(0.5, 50.0, "Hz; plans on each object list, at most this often")
    target_speed_mps: float = bounded(0.0, 40.0, "m/s, until a route/behaviour layer provides one")
    odometry_timeout_s: float = bounded(
        0.01, 5.0, "s; no valid odometry for this long: stale (the last valid value holds until then)"
    )
    inputs_timeout_s: float = bounded(
        0.01, 5.0, "s; obstacle points or objects older than this: no plan (stop profile)"
    )
    latency_budget_ms: float = bounded(
        1.0, 1000.0, "ms, sensor stamp to path; slower outputs are counted as deadline misses"
    )
    max_points: int = bounded(10, 1_000_000, "obstacle points nearest the path kept for the collision check")
