"""The LiDAR pipeline: crop -> ground -> height band -> drops out -> clusters -> boxes -> tracks -> object list."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from av_edge.core.clutter import ClutterConfig, isolated
from av_edge.core.config import bounded, described
from av_edge.core.ego import EgoPose
from av_edge.core.geometry import Extrinsic, box_corners, polar, transform_to_rows
from av_edge.core.objects import CONFIRMED_SCORE, MATURE_SCORE, OBJECT_DTYPE, TENTATIVE_SCORE
from av_edge.core.perception.boxes import fit_boxes, half_turn, near_face_axis
from av_edge.core.perception.clustering import ClusterConfig, cluster_points
from av_edge.core.perception.ground import GroundConfig, height_above_ground
from av_edge.core.perception.standing import StandingCheck, StandingConfig
from av_edge.core.perception.tracking import Tracker, TrackerConfig

# What the tracker keeps of each detection's box, for the scans its track coasts unseen: the box
# centre relative to the tracked anchor, and its shape (tracking frame: odom, or base_link without ego).
SHAPE_DTYPE = np.dtype(
    [("dx", "f8"), ("dy", "f8"), ("z", "f4"), ("length", "f4"), ("width", "f4"), ("height", "f4"), ("yaw", "f8")]
)


@dataclass(frozen=True)
class SelfCropConfig:
    """Returns from the ego body (base_link box) are removed."""

    x_min_m: float = bounded(-20.0, 0.0, "m, rear end of the ego body box (base_link x)")
    x_max_m: float = bounded(0.0, 20.0, "m, front end of the ego body box")
    half_width_m: float = bounded(0.0, 5.0, "m, half the ego body box's width")


RAIN_SCANS = 5  # the lone-return count that says "rain" is a mean over this many scans


@dataclass(frozen=True)
class PerceptionClutterConfig(ClutterConfig):
    rain_drops: float = bounded(
        0.0, 100000.0, "lone returns a scan (mean of 5) from which they are drops and taken out; fewer: kept"
    )


@dataclass(frozen=True)
class PerceptionConfig:
    lidar_extrinsic: Extrinsic
    self_crop: SelfCropConfig
    ground: GroundConfig
    cluster: ClusterConfig
    tracker: TrackerConfig
    clutter: PerceptionClutterConfig
    standing: StandingConfig
    lidar_frame: str = described("frame_id the LiDAR scans must carry; others are rejected")
    max_height_m: float = bounded(0.5, 10.0, "points higher above the ground (gantries, trees) are ignored")
    max_points: int = bounded(1000, 10_000_000, "larger clouds are strided down to this (bounded time)")


@dataclass(frozen=True)
class PerceptionFrame:
    stamp_ns: int
    obstacle_points: np.ndarray  # (M, 3) float32, base_link
    cluster_ids: np.ndarray  # (M,) int32, -1 = unclustered
    objects: np.ndarray  # OBJECT_DTYPE, base_link
    n_input: int
    n_used: int
    n_ground: int


class LidarPipeline:
    def __init__(self, config: PerceptionConfig) -> None:
        self.config = config
        self.tracker = Tracker(config.tracker, SHAPE_DTYPE)
        self._lidar_to_base = config.lidar_extrinsic.matrix()
        self._drop_counts: deque[int] = deque(maxlen=RAIN_SCANS)  # lone returns near the sensor, per scan
        self._standing = StandingCheck(config.standing)

    def process(self, xyz_lidar: np.ndarray, stamp_ns: int, ego: EgoPose | None) -> PerceptionFrame:
        """One scan of finite lidar-frame points; ``ego`` (odom pose at the stamp) makes velocities absolute."""
        cfg = self.config
        n_input = xyz_lidar.shape[0]
        stride = max(1, -(-n_input // cfg.max_points))
        # Rows x, y, z from here on: every per-point pass reads one contiguous coordinate.
        xyz = transform_to_rows(self._lidar_to_base, xyz_lidar[::stride])
        height = height_above_ground(xyz, cfg.ground)
        is_ground = height < cfg.ground.height_threshold_m
        # Indices and np.take, not xyz[:, mask]: boolean indexing costs ~4x more here.
        band = np.flatnonzero(~is_ground & (height < cfg.max_height_m))
        above = np.take(xyz, band, axis=1)
        crop = cfg.self_crop  # on the few points above the ground only
        x, y = above[0], above[1]
        off_ego = (x <= crop.x_min_m) | (x >= crop.x_max_m) | (np.abs(y) >= crop.half_width_m)
        kept = np.compress(off_ego, band)
        kept = kept[~self._drops(xyz_lidar[::stride][kept])]  # in rain or spray: no object, no obstacle point
        obstacle = np.take(xyz, kept, axis=1)
        obstacle_height = np.take(height, kept)
        labels, n_clusters = cluster_points(obstacle, cfg.cluster)
        boxes = fit_boxes(obstacle, labels, n_clusters, obstacle_height)
        objects = np.zeros(n_clusters, dtype=OBJECT_DTYPE)
        for name in ("x", "y", "z", "length", "width", "height", "yaw"):
            objects[name] = boxes[name]
        anchors = np.column_stack([boxes["anchor_x"], boxes["anchor_y"]]).astype(np.float64)
        centres = np.column_stack([boxes["x"], boxes["y"]]).astype(np.float64)
        yaw = boxes["yaw"].astype(np.float64)
        sxx, syy, sxy = (boxes[name].astype(np.float64) for name in ("anchor_sxx", "anchor_syy", "anchor_sxy"))
        face = near_face_axis(sxx, syy, sxy)
        if ego is not None:
            anchors, centres, yaw = ego.to_odom(anchors), ego.to_odom(centres), yaw + ego.yaw
            face = ego.rotate_to_odom(face)
            c, s = np.cos(ego.yaw), np.sin(ego.yaw)  # the moments' diagonal in odom axes (R S R^T)
            sxx, syy = c * c * sxx - 2 * c * s * sxy + s * s * syy, s * s * sxx + 2 * c * s * sxy + c * c * syy
        shape = np.zeros(n_clusters, dtype=SHAPE_DTYPE)
        shape["dx"], shape["dy"] = (centres - anchors).T
        for name in ("z", "length", "width", "height"):
            shape[name] = boxes[name]
        shape["yaw"] = yaw
        along = np.column_stack([np.cos(yaw), np.sin(yaw)])
        assignment = self.tracker.update(
            anchors,
            stamp_ns,
            boxes["length"],
            payload=shape,
            along=along,
            spread=np.column_stack([sxx, syy]),
            face=face,
        )
        velocity, acceleration = assignment.velocity, assignment.acceleration
        if ego is not None:
            velocity, acceleration = ego.rotate_to_base(velocity), ego.rotate_to_base(acceleration)
        objects["vx"], objects["vy"] = velocity[:, 0], velocity[:, 1]
        objects["v_sigma"] = assignment.velocity_sigma
        objects["ax"], objects["ay"] = acceleration[:, 0], acceleration[:, 1]
        objects["track_id"] = assignment.track_id
        objects["standing"] = self._standing_share(obstacle, labels, assignment.velocity, ego, stamp_ns)
        tentative = np.where(assignment.confirmed, CONFIRMED_SCORE, TENTATIVE_SCORE)
        objects["score"] = np.where(assignment.mature, MATURE_SCORE, tentative)
        objects = np.concatenate([objects, self._coasting(ego, obstacle)])
        return PerceptionFrame(
            stamp_ns=stamp_ns,
            obstacle_points=np.ascontiguousarray(obstacle.T),
            cluster_ids=labels,
            objects=objects,
            n_input=n_input,
            n_used=xyz.shape[1],
            n_ground=int(np.count_nonzero(is_ground)),
        )

    def _standing_share(
        self, obstacle: np.ndarray, labels: np.ndarray, velocity: np.ndarray, ego: EgoPose | None, stamp_ns: int
    ) -> np.ndarray:
        """Per cluster (tracked odom ``velocity``), the share of its returns (``obstacle``, rows x, y,
        z in base_link) lying where returns lay ``standing.baseline_s`` before
        (:mod:`~av_edge.core.perception.standing`); 0 without odometry (nothing to place them by)."""
        if ego is None:
            self._standing.reset()
            return np.zeros(velocity.shape[0], dtype=np.float32)
        xy = ego.to_odom(obstacle[:2].T.astype(np.float64)).T
        return self._standing.update(xy, labels, velocity, (ego.x, ego.y), stamp_ns)

    def _drops(self, xyz_sensor: np.ndarray) -> np.ndarray:
        """Mask of the returns to take out as drops of rain, spray or dust: alone in their cell, near the
        sensor, while drops are many (``rain_drops``, mean of a few scans). In clear air a lone return is
        as likely the first of an object coming into view (a child behind a parked car): kept."""
        cfg = self.config.clutter
        r = cfg.max_range_m
        near = np.flatnonzero(xyz_sensor[:, 0] ** 2 + xyz_sensor[:, 1] ** 2 < r * r)
        alone = near[isolated(xyz_sensor[near], cfg)]
        self._drop_counts.append(alone.size)
        drops = np.zeros(xyz_sensor.shape[0], dtype=bool)
        if sum(self._drop_counts) / len(self._drop_counts) > cfg.rain_drops:
            drops[alone] = True
        return drops

    def _coasting(self, ego: EgoPose | None, obstacle: np.ndarray) -> np.ndarray:
        """Objects for the mature tracks this scan did not see, at their predicted place, while an
        ``obstacle`` return (rows x, y, z, base_link) nearer along the line of sight hides it; a track
        whose place is in plain view is not there (or was re-detected as a new track): it is dropped.

        They follow the scan's clusters in the list, so object i < n_clusters is still cluster i.
        """
        tracker = self.tracker
        rows = tracker.coasting()
        shape, state = tracker.payload[rows], tracker.state[rows]
        centre = state[:, :, 0] + np.column_stack([shape["dx"], shape["dy"]])
        velocity, acceleration, yaw = state[:, :, 1], state[:, :, 2], shape["yaw"]
        if ego is not None:
            centre = ego.rotate_to_base(centre - (ego.x, ego.y))
            velocity, acceleration, yaw = ego.rotate_to_base(velocity), ego.rotate_to_base(acceleration), yaw - ego.yaw
        objects = np.zeros(rows.size, dtype=OBJECT_DTYPE)
        objects["x"], objects["y"] = centre.T
        for name in ("z", "length", "width", "height"):
            objects[name] = shape[name]
        objects["yaw"] = half_turn(yaw)
        objects["vx"], objects["vy"] = velocity.T
        objects["v_sigma"] = tracker.velocity_sigma(rows)
        objects["ax"], objects["ay"] = acceleration.T
        objects["track_id"] = tracker.ids[rows]
        objects["score"] = MATURE_SCORE
        hidden = hidden_by(objects, obstacle, self._lidar_to_base[:2, 3], self.config.tracker.occluder_m)
        tracker.drop(rows[~hidden])
        return objects[hidden]


def hidden_by(objects: np.ndarray, obstacle: np.ndarray, sensor: np.ndarray, margin_m: float) -> np.ndarray:
    """Mask of ``objects`` (base_link boxes) behind some ``obstacle`` return seen from ``sensor``:
    a return within the box's span of azimuth, ``margin_m`` nearer than its nearest corner."""
    if objects.size == 0:
        return np.zeros(0, dtype=bool)
    corner_x, corner_y = box_corners(objects)
    # Azimuths seen looking backwards (180 deg = straight ahead), so nothing ahead straddles the wrap.
    corner_range, corner_azimuth = polar((sensor[0] - corner_x).ravel(), (sensor[1] - corner_y).ravel())
    corner_range, corner_azimuth = corner_range.reshape(-1, 4), corner_azimuth.reshape(-1, 4)
    low, high = corner_azimuth.min(axis=1), corner_azimuth.max(axis=1)
    rng, azimuth = polar(sensor[0] - obstacle[0], sensor[1] - obstacle[1])
    order = np.argsort(azimuth, kind="stable")
    sorted_azimuth, sorted_range = azimuth[order], np.append(rng[order], np.inf)
    first, stop = np.searchsorted(sorted_azimuth, low), np.searchsorted(sorted_azimuth, high, side="right")
    nearest = np.minimum.reduceat(sorted_range, np.column_stack([first, stop]).ravel())[::2]
    nearest = np.where(stop > first, nearest, np.inf)
    return (nearest < corner_range.min(axis=1) - margin_m) & (high - low < 180.0)
