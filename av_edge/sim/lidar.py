"""Spinning multi-beam LiDAR by vectorised ray casting against the road plane and boxes.

Each box is intersected only with the azimuth columns it spans (slab test over beams x columns),
which keeps a 64 x 1800 scan against a handful of boxes at a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.geometry import Extrinsic, pose_matrix
from av_edge.core.pointcloud import XYZI_DTYPE
from av_edge.sim.world import Box

GROUND_INTENSITY = 0.1
OBJECT_INTENSITY = 0.6


@dataclass(frozen=True)
class LidarConfig:
    extrinsic: Extrinsic
    n_azimuth: int = bounded(8, 10000, "columns per revolution")
    n_beams: int = bounded(1, 256)
    min_elevation_deg: float = bounded(-90.0, 90.0)
    max_elevation_deg: float = bounded(-90.0, 90.0)
    max_range_m: float = bounded(1.0, 500.0)
    range_noise_m: float = bounded(0.0, 1.0, "1-sigma range noise")
    rate_hz: float = bounded(1.0, 100.0)


class LidarModel:
    """``dropout``: chance a return is lost; ``blockage_deg``: sensor-frame azimuth sector (from, to)
    with no returns at all (dirt, a bag on the sensor); ``clutter``: chance a ray returns early from
    rain or spray (uniformly 1-40 m out, closer than what it would hit); ``range_noise_m``: overrides
    the config's. After each scan, ``hits`` holds the returns on each box (ground truth for the
    avoidability oracle's "seen" test)."""

    def __init__(
        self,
        config: LidarConfig,
        seed: int,
        dropout: float = 0.0,
        blockage_deg: tuple[float, float] | None = None,
        clutter: float = 0.0,
        range_noise_m: float | None = None,
    ) -> None:
        if config.max_elevation_deg <= config.min_elevation_deg:
            raise ValueError("max_elevation_deg must exceed min_elevation_deg")
        self.config = config
        self._rng = np.random.default_rng(seed)
        elevation = np.radians(np.linspace(config.min_elevation_deg, config.max_elevation_deg, config.n_beams))
        self.azimuth = np.linspace(-np.pi, np.pi, config.n_azimuth, endpoint=False)
        ce, se = np.cos(elevation)[:, None], np.sin(elevation)[:, None]
        # (beams, columns, 3) unit ray directions in the sensor frame.
        self.directions = np.stack(
            np.broadcast_arrays(ce * np.cos(self.azimuth), ce * np.sin(self.azimuth), se), axis=-1
        )
        self._unit_planes = [self.directions[..., i].reshape(-1).astype(np.float32) for i in range(3)]
        self._base_from_lidar = config.extrinsic.matrix()
        self._dropout = dropout
        self._clutter = clutter
        self._noise = config.range_noise_m if range_noise_m is None else range_noise_m
        self.hits = np.zeros(0, dtype=np.int64)
        self._open = np.ones(self.azimuth.shape, dtype=bool)
        if blockage_deg is not None:
            self.block(blockage_deg)
        self._cache_key = b""
        self._cache: tuple[np.ndarray, np.ndarray] = (self.directions, self.directions[..., 0])

    def block(self, sector_deg: tuple[float, float]) -> None:
        """From now on, no returns in the sensor-frame azimuth sector ``sector_deg`` (from, to)."""
        start, end = np.radians(sector_deg)
        self._open &= (self.azimuth - start) % (2 * np.pi) > (end - start) % (2 * np.pi)

    def lose(self, dropout: float) -> None:
        """From now on, at least this share of returns is lost."""
        self._dropout = max(self._dropout, dropout)

    def rain(self, clutter: float) -> None:
        """From now on, at least this share of rays returns early (heavy rain, spray)."""
        self._clutter = max(self._clutter, clutter)

    def scan(self, ego_x: float, ego_y: float, ego_yaw: float, boxes: Sequence[Box]) -> np.ndarray:
        """One revolution (treated as instantaneous) in the sensor frame, as an x, y, z, intensity array."""
        world_from_lidar = pose_matrix(ego_x, ego_y, 0.0, 0.0, 0.0, ego_yaw) @ self._base_from_lidar
        origin = world_from_lidar[:3, 3]
        rays, ground = self._rays_and_ground(world_from_lidar)
        ranges = ground.copy()
        intensity = np.full(ranges.shape, GROUND_INTENSITY, dtype=np.float32)
        owner = np.full(ranges.shape, -1, dtype=np.int32)
        for i, box in enumerate(boxes):
            columns = self._columns_spanned(box, world_from_lidar)
            hit = _box_intersection(origin, rays[:, columns], box)
            closer = hit < ranges[:, columns]
            ranges[:, columns] = np.where(closer, hit, ranges[:, columns])
            intensity[:, columns] = np.where(closer, OBJECT_INTENSITY, intensity[:, columns])
            owner[:, columns] = np.where(closer, i, owner[:, columns])
        if self._clutter > 0:
            flat, flat_owner = ranges.reshape(-1), owner.reshape(-1)
            drops = np.flatnonzero(self._rng.random(flat.size) < self._clutter)
            early = self._rng.uniform(1.0, 40.0, drops.size)
            closer_drops = drops[early < flat[drops]]
            flat[closer_drops] = early[early < flat[drops]]
            flat_owner[closer_drops] = -1
        returned = (ranges > 0.3) & (ranges < self.config.max_range_m) & self._open[None, :]
        if self._dropout > 0:
            returned &= self._rng.random(ranges.shape) >= self._dropout
        valid = np.flatnonzero(returned)
        hit_owner = owner.reshape(-1)[valid]
        self.hits = np.bincount(hit_owner[hit_owner >= 0], minlength=len(boxes))
        measured = ranges.reshape(-1)[valid].astype(np.float32)
        measured += self._rng.standard_normal(valid.size, dtype=np.float32) * np.float32(self._noise)
        points = np.empty(valid.size, dtype=XYZI_DTYPE)
        for axis, unit in zip("xyz", self._unit_planes, strict=True):
            points[axis] = unit[valid] * measured
        points["intensity"] = intensity.reshape(-1)[valid]
        return points

    def _rays_and_ground(self, world_from_lidar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World-frame ray directions and road-plane ranges; cached while the sensor attitude and height hold."""
        key = world_from_lidar[:3, :3].tobytes() + world_from_lidar[2, 3].tobytes()
        if self._cache_key != key:
            rays = self.directions @ world_from_lidar[:3, :3].T
            with np.errstate(divide="ignore", invalid="ignore"):
                ground = np.where(rays[..., 2] < 0, -world_from_lidar[2, 3] / rays[..., 2], np.inf)
            self._cache_key, self._cache = key, (rays, ground)
        return self._cache

    def _columns_spanned(self, box: Box, world_from_lidar: np.ndarray) -> np.ndarray:
        """Indices of the azimuth columns whose rays can hit ``box`` (all of them if the sensor is inside)."""
        corners = np.column_stack([box.corners(), np.ones(8)])
        local = (np.linalg.inv(world_from_lidar) @ corners.T).T[:, :3]
        angles = np.arctan2(local[:, 1], local[:, 0])
        centre = np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())
        offsets = np.angle(np.exp(1j * (angles - centre)))
        if np.ptp(offsets) >= np.pi:
            return np.arange(self.config.n_azimuth)
        step = 2 * np.pi / self.config.n_azimuth
        first = int(np.floor((centre + offsets.min() + np.pi) / step)) - 1
        last = int(np.ceil((centre + offsets.max() + np.pi) / step)) + 1
        return np.arange(first, last + 1) % self.config.n_azimuth


def _box_intersection(origin: np.ndarray, rays: np.ndarray, box: Box) -> np.ndarray:
    """Distance along each unit ray to an oriented box: the slab test in the box's own frame."""
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    to_box = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    local_origin = to_box @ (origin - np.array([box.x, box.y, 0.0]))
    return _slab_intersection(local_origin, rays @ to_box.T, *box.bounds())


def _slab_intersection(origin: np.ndarray, rays: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance along each unit ray to an axis-aligned box (inf where it misses)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - origin) / rays, (hi - origin) / rays
    near = np.nanmax(np.minimum(t1, t2), axis=-1)
    far = np.nanmin(np.maximum(t1, t2), axis=-1)
    return np.where((far >= near) & (near > 0), near, np.inf)
