"""Fail-safe watchdog: stale inputs, LiDAR blockage, dropout and spurious returns, clock jumps, each
named in the diagnostics.

FMVSS No. 127 asks for sensor blockage to be detected and reported; Autoware's AEB stayed silent
when its point cloud stopped (their issue #5633). The node polls :meth:`Watchdog.sensor_faults` on a timer,
so a dead sensor is noticed without waiting for the next message that never comes.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from av_edge.core.aeb.availability import Fault
from av_edge.core.aeb.config import WatchdogConfig
from av_edge.core.geometry import box_corners, polar
from av_edge.core.health import NodeHealth

CLOCK_FAULT_HOLD_NS = 2_000_000_000
BLOCKAGE_STRIDE = 4
SPURIOUS_SCANS = 5  # spurious returns per scan: the mean of this many (one drop-heavy scan is not rain)


class Watchdog:
    def __init__(self, config: WatchdogConfig, health: NodeHealth) -> None:
        self.config = config
        self.health = health
        self._spurious: deque[int] = deque(maxlen=SPURIOUS_SCANS)
        self.last_spurious = 0  # drops in the last scan
        self.spurious = 0.0  # mean drops per scan, over the last SPURIOUS_SCANS
        self.raining = False  # a spurious-return fault: raised over max_spurious, cleared under half of it
        self._offset_ns: int | None = None
        self._last_stamp_ns: int | None = None
        self._clock_fault_until_ns = -1
        self.blocked_sectors: list[tuple[float, float]] = []
        self.dropout = 0.0  # share of the open sectors' ground rays lost in the last scan
        self.odometry_error: str | None = None  # why the latest odometry was rejected (None: it was valid)

    def on_cloud(self, xyz_lidar: np.ndarray, spurious: int, stamp_ns: int, now_ns: int) -> None:
        """A scan (sensor frame) and how many of its returns were drops (``spurious``: rain, spray, dust)."""
        cfg = self.config
        offset = now_ns - stamp_ns
        backwards = self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns
        jumped = self._offset_ns is not None and abs(offset - self._offset_ns) > cfg.clock_jump_s * 1e9
        if backwards or jumped:
            self._clock_fault_until_ns = now_ns + CLOCK_FAULT_HOLD_NS
        self._offset_ns, self._last_stamp_ns = offset, stamp_ns
        self.blocked_sectors, self.dropout = coverage(xyz_lidar, cfg)
        self.last_spurious = spurious
        self._spurious.append(spurious)
        self.spurious = sum(self._spurious) / len(self._spurious)
        self.raining = self.spurious > (cfg.max_spurious / 2 if self.raining else cfg.max_spurious)

    def sensor_faults(self, now_ns: int) -> list[Fault]:
        """Causes of degraded operation right now (empty when healthy): the input each concerns, its
        kind and reason, and whether braking is left with nothing to go on."""
        found = []
        age = self.health.age_s("point cloud", now_ns)
        if age > self.config.lidar_timeout_s:
            dead = age == np.inf
            why = "no point cloud" if dead else f"point cloud stale {age:.2f}s"
            found.append(Fault("lidar", "dead" if dead else "stale", why, True))
        if not self.health.fresh("odometry", now_ns):
            why = f"odometry invalid ({self.odometry_error})" if self.odometry_error else "odometry stale"
            found.append(Fault("odometry", "invalid" if self.odometry_error else "stale", why, True))
        if self.blocked_sectors:
            sectors = ", ".join(f"{a:.0f}..{b:.0f} deg" for a, b in self.blocked_sectors)
            found.append(Fault("lidar", "blocked", f"LiDAR blocked ({sectors})", False))
        if self.dropout > self.config.max_dropout:
            found.append(Fault("lidar", "dropout", f"LiDAR dropout {self.dropout:.0%}", False))
        if self.raining:
            why = f"LiDAR spurious returns {self.spurious:.0f}/scan (rain, spray, dust)"
            found.append(Fault("lidar", "spurious", why, False))
        if now_ns < self._clock_fault_until_ns:
            found.append(Fault("clock", "jump", "clock jump", False))
        return found


def coverage(xyz_lidar: np.ndarray, cfg: WatchdogConfig) -> tuple[list[tuple[float, float]], float]:
    """Blocked forward sectors (sensor frame azimuth, degrees) and the share of rays lost in the others.

    Counted on the rays aimed below ``ground_elevation_deg``: on a flat road every one of them meets
    something within range (the road, a car, a wall), so their returns per sector are known whatever
    the scene, where the count of all points is not (sky, buildings, trees). A sector returning under
    ``blockage_max_share`` of its rays is blocked; the rest lose ``dropout`` of theirs.
    """
    if cfg.blockage_fov_deg <= 0:
        return [], 0.0
    # Every 4th return is plenty (~25k on a clear road); OpenCV's polar conversion is ~15x faster
    # than arctan2; "below the elevation" is z under tan(elevation) times the horizontal range.
    sample = xyz_lidar[::BLOCKAGE_STRIDE]
    horizontal, angle = polar(sample[:, 0], sample[:, 1])
    low = sample[:, 2] < np.tan(np.radians(cfg.ground_elevation_deg)) * horizontal
    azimuth = np.where(angle > 180.0, angle - 360.0, angle)[low]
    edges = np.arange(-cfg.blockage_fov_deg / 2, cfg.blockage_fov_deg / 2 + 1e-9, cfg.blockage_sector_deg)
    counts, _ = np.histogram(azimuth, bins=edges)
    expected = cfg.ground_rays_per_deg * np.diff(edges) / BLOCKAGE_STRIDE
    blocked = counts < cfg.blockage_max_share * expected
    sectors = [(float(edges[i]), float(edges[i + 1])) for i in np.flatnonzero(blocked)]
    open_expected = float(expected[~blocked].sum())
    dropout = 1.0 - float(counts[~blocked].sum()) / open_expected if open_expected > 0 else 0.0
    return sectors, max(dropout, 0.0)


def cut_by_blind_sectors(
    objects: np.ndarray, sectors: list[tuple[float, float]], sensor: np.ndarray, margin_deg: float
) -> np.ndarray:
    """Mask of ``objects`` (base_link boxes) whose outline reaches within ``margin_deg`` of a blocked
    sector, seen from ``sensor`` (a (3, 3) planar base_link-from-sensor pose): what shows of them
    grows or shrinks at the blind edge as the ego moves, so their tracked motion is the edge's, not
    theirs (a parked car "moves" 4 m/s sideways as it comes out of a blocked sector)."""
    if objects.size == 0 or not sectors:
        return np.zeros(objects.size, dtype=bool)
    corner_x, corner_y = box_corners(objects)
    x, y = corner_x - sensor[0, 2], corner_y - sensor[1, 2]
    heading = np.degrees(np.arctan2(sensor[1, 0], sensor[0, 0]))
    azimuth = (np.degrees(np.arctan2(y, x)) - heading + 180.0) % 360.0 - 180.0  # sensor frame, (-180, 180]
    low, high = azimuth.min(axis=1), azimuth.max(axis=1)
    cut = np.zeros(objects.size, dtype=bool)
    for start, end in sectors:
        cut |= (high >= start - margin_deg) & (low <= end + margin_deg)
    return cut & (high - low < 180.0)  # an object around the sensor is not "in" a forward sector
