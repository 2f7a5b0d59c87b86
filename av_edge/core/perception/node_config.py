"""Parameters of perception_node: the pipeline's plus the node's own."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.config import bounded
from av_edge.core.detection.config import DetectionConfig
from av_edge.core.ego import OdometryLimits
from av_edge.core.fusion.fuser import FusionConfig
from av_edge.core.perception.pipeline import PerceptionConfig
from av_edge.core.sensor_health import CameraHealthConfig


@dataclass(frozen=True)
class PerceptionNodeConfig:
    pipeline: PerceptionConfig
    odometry_limits: OdometryLimits
    camera_detection: DetectionConfig
    camera_health: CameraHealthConfig
    fusion: FusionConfig
    latency_budget_ms: float = bounded(
        1.0, 1000.0, "ms, sensor stamp to object list; slower outputs are counted as deadline misses"
    )
    latency_window: int = bounded(10, 100000, "samples kept for latency percentiles")
    events_min_interval_s: float = bounded(0.0, 60.0, "s; /av_edge/events: one per cause this often, repeats counted")
    odometry_timeout_s: float = bounded(
        0.01, 5.0, "s; no valid odometry for this long: stale (the last valid value holds until then)"
    )
