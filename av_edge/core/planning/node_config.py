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
    rate_hz: float = bounded(0.5, 50.0)
    target_speed_mps: float = bounded(0.0, 40.0)
    odometry_timeout_s: float = bounded(0.01, 5.0)
    inputs_timeout_s: float = bounded(0.01, 5.0)
    latency_budget_ms: float = bounded(1.0, 1000.0)
    max_points: int = bounded(10, 1_000_000)
