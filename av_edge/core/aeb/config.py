"""AEB parameters (validated from config/aeb.params.yaml; no defaults in code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from av_edge.core.aeb.motion import MotionConfig
from av_edge.core.aeb.path import LaneConfig
from av_edge.core.clutter import ClutterConfig
from av_edge.core.config import Rule, below, bounded, choice, described
from av_edge.core.ego import OdometryLimits
from av_edge.core.geometry import Extrinsic
from av_edge.core.vehicle import VehicleConfig


@dataclass(frozen=True)
class CorridorConfig:
    lateral_margin_m: float = bounded(0.0, 3.0, "added to each side of the body")
    min_height_m: float = bounded(0.0, 2.0, "ignore returns below this height (ground, debris)")
    max_range_m: float = bounded(5.0, 300.0, "look-ahead along the path from the front bumper")
    min_points: int = bounded(1, 1000, "returns needed before an obstacle counts (noise, spray)")
    max_curvature: float = bounded(0.0, 1.0, "predicted-path curvature is clamped to this (1/m)")


@dataclass(frozen=True)
class AebClutterConfig(ClutterConfig):
    """Drops (:mod:`av_edge.core.clutter`) are never an obstacle; ``max_range_m`` runs along the path."""

    band_m: float = bounded(0.0, 10.0, "m: looked for in the corridor and this far beside it (a return's cell-mates)")


@dataclass(frozen=True)
class BrakeConfig:
    """Staged response: warning, partial braking, full braking, hold at standstill."""

    warning_ttc_s: float = bounded(0.0, 10.0, "forward-collision warning below this time to collision")
    partial_trigger_mps2: float = bounded(0.5, 12.0, "required deceleration that starts partial braking")
    partial_decel_mps2: float = bounded(0.5, 12.0, "deceleration requested while partially braking")
    full_trigger_mps2: float = bounded(0.5, 12.0, "required deceleration that starts full braking")
    full_decel_mps2: float = bounded(1.0, 12.0, "deceleration requested while fully braking")
    hold_decel_mps2: float = bounded(0.5, 12.0, "deceleration requested to hold at standstill")
    response_time_s: float = bounded(0.0, 2.0, "latency budget + actuator delay + brake build-up")
    stop_margin_m: float = bounded(0.0, 10.0, "gap to keep to the obstacle at standstill")
    hold_distance_m: float = bounded(0.0, 50.0, "an in-path obstacle this close keeps the brake on")
    release_clear_frames: int = bounded(1, 100, "consecutive clear frames before releasing")
    standstill_speed_mps: float = bounded(0.0, 2.0, "below this the vehicle is stopped")

    RULES: ClassVar[tuple[Rule, ...]] = (
        below("partial_trigger_mps2", "full_trigger_mps2", "partial braking starts below the full-braking trigger"),
        below("partial_trigger_mps2", "partial_decel_mps2", "partial braking requests what started it", strict=False),
        below("full_trigger_mps2", "full_decel_mps2", "full braking requests what started it", strict=False),
        below("partial_decel_mps2", "full_decel_mps2", "partial braking requests less than full", strict=False),
        below("response_time_s", "warning_ttc_s", "the warning comes before the brakes could act"),
    )


@dataclass(frozen=True)
class ObjectsConfig:
    """Tracked objects refine closing speed and predict crossings; braking never waits for them."""

    timeout_s: float = bounded(0.0, 2.0, "older lists are ignored (in-path motion from the range rate alone)")
    min_score: float = bounded(0.0, 1.0, "tracks refine the in-path obstacle's motion from this score on")
    lead_max_sigma_mps: float = bounded(
        0.0, 10.0, "... and from crossing_min_score on, once their v_sigma is at most this (0: never before min_score)"
    )
    crossing_min_score: float = bounded(0.0, 1.0, "tracks are predicted to cross the path from this score on")
    vulnerable_class_score: float = bounded(
        0.0, 1.0, "cameras' confidence from which a pedestrian/cyclist class counts"
    )
    vulnerable_margin_m: float = bounded(0.0, 3.0, "extra lateral margin for a classified pedestrian or cyclist")
    association_m: float = bounded(0.1, 10.0, "object near edge to in-path obstacle, after prediction")
    box_margin_m: float = bounded(0.0, 5.0, "an object's box grown by this holds the in-path obstacle's return")
    min_crossing_speed_mps: float = bounded(0.0, 5.0, "lateral speed from which an object counts as crossing")
    max_prediction_s: float = bounded(0.0, 10.0, "crossings further ahead in time are ignored")
    crossing_time_margin_s: float = bounded(
        0.0, 2.0, "s; a mature track clearing the path this little before the ego arrives (or after) still crosses"
    )
    crossing_lists: int = bounded(1, 10, "object lists in a row that must predict a crossing before it counts")
    lateral_sigma_mps: float = bounded(0.0, 2.0, "lateral velocity uncertainty: the margin grows by this per second")
    crossing_sigmas: float = bounded(
        0.0, 5.0, "an object counts as crossing once its lateral speed is this many times its v_sigma (and the minimum)"
    )
    small_object_m: float = bounded(0.0, 5.0, "objects no longer or wider than this count as vulnerable (people)")
    min_object_m: float = bounded(0.0, 2.0, "shorter objects are fragments (a few returns off an edge): not predicted")
    vehicle_min_speed_mps: float = bounded(0.0, 10.0, "larger objects slower than this do not cross (outline noise)")
    standing_share: float = bounded(
        0.0, 1.0, "objects with this share of their returns where returns lay 0.3 s before stand: not predicted"
    )
    beyond_margin_m: float = bounded(
        0.0, 20.0, "tracks in the path this far behind the nearest obstacle count as further obstacles"
    )
    lane_traffic_ratio: float = bounded(
        0.0, 1.0, "larger objects moving along the path under this lateral/along ratio keep their lane"
    )
    lane_change_min_mps: float = bounded(
        0.0, 5.0, "... unless mature, going our way and moving towards the path this fast ..."
    )
    lane_change_sigmas: float = bounded(0.0, 5.0, "... and this many times its v_sigma")
    lane_change_horizon_s: float = bounded(0.0, 10.0, "a lane change's lateral speed is predicted this far ahead")

    RULES: ClassVar[tuple[Rule, ...]] = (below("min_object_m", "small_object_m", "fragments are smaller than people"),)


@dataclass(frozen=True)
class WatchdogConfig:
    degraded_action: str = choice(
        "hold",
        "brake",
        doc="when a sensor fault persists: 'hold' warns and keeps the last safe state, 'brake' requests full braking",
    )
    lidar_timeout_s: float = bounded(0.05, 5.0, "no scan for this long: ERROR")
    blockage_fov_deg: float = bounded(0.0, 360.0, "forward field of view checked for blockage and dropout")
    blockage_sector_deg: float = bounded(1.0, 180.0, "sector width of the blockage check")
    ground_elevation_deg: float = bounded(
        -90.0, 0.0, "rays aimed below this (sensor frame) hit a flat road within range: each must return"
    )
    ground_rays_per_deg: float = bounded(0.1, 10000.0, "such rays per degree of azimuth (beams x columns/deg)")
    blockage_max_share: float = bounded(0.0, 1.0, "a sector returning under this share of them is blocked")
    max_dropout: float = bounded(0.0, 1.0, "more of them lost across the open sectors: a dropout fault")
    blind_hold_s: float = bounded(
        0.0, 10.0, "an in-path obstacle whose place went blind is braked for as last measured, this long"
    )
    max_spurious: float = bounded(
        0.0,
        100000.0,
        "more drops (returns alone in their clutter cell, in and beside the corridor) per scan, mean of 5 "
        "scans: a spurious-returns fault (rain, spray, dust); clears under half",
    )
    clock_jump_s: float = bounded(0.01, 10.0, "sensor-to-node clock offset change that counts as a jump")

    RULES: ClassVar[tuple[Rule, ...]] = (
        below("blockage_sector_deg", "blockage_fov_deg", "a sector fits in the field of view checked", strict=False),
    )


@dataclass(frozen=True)
class CameraFallbackConfig:
    enabled: bool = described("brake on camera-only objects while the LiDAR is degraded")
    min_lists: int = bounded(1, 50, "object lists in a row showing a camera-only object before it counts")
    full_lists: int = bounded(1, 100, "... before it may ask for full braking (partial braking until then)")
    max_sigma_mps: float = bounded(0.0, 20.0, "m/s, a camera-only object's velocity must be at least this sure")
    vehicle_min_lateral_mps: float = bounded(
        0.0, 20.0, "m/s, a camera-only car or truck is predicted sideways only above this (its box slides slower)"
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        below("min_lists", "full_lists", "full braking needs at least the lists that make it count", strict=False),
    )


@dataclass(frozen=True)
class SparseConfig:
    """A standing obstacle too sparse for ``corridor.min_points``, believed over scans (``sparse``)."""

    enabled: bool = described("believe standing obstacles with fewer returns than corridor.min_points over scans")
    min_points: int = bounded(1, 100, "returns in a group that make a candidate")
    cluster_m: float = bounded(0.0, 5.0, "m along the path the group's returns lie within")
    half_width_m: float = bounded(0.0, 5.0, "m either side of the path's centre line a candidate must lie")
    max_speed_mps: float = bounded(0.0, 10.0, "m/s along the path: faster candidates are not standing")


@dataclass(frozen=True)
class AebConfig:
    vehicle: VehicleConfig
    corridor: CorridorConfig
    clutter: AebClutterConfig
    lane: LaneConfig
    brake: BrakeConfig
    objects: ObjectsConfig
    camera: CameraFallbackConfig
    motion: MotionConfig
    sparse: SparseConfig
    watchdog: WatchdogConfig
    odometry_limits: OdometryLimits
    lidar_extrinsic: Extrinsic
    lidar_frame: str = described("frame_id the LiDAR scans must carry; others are rejected")
    latency_budget_ms: float = bounded(1.0, 1000.0, "sensor stamp to brake command")
    latency_window: int = bounded(10, 100000, "samples kept for latency percentiles")
    odometry_timeout_s: float = bounded(0.01, 5.0, "odometry older than this is stale")
    events_min_interval_s: float = bounded(0.0, 60.0, "/av_edge/events: one per cause this often, repeats counted")
