"""Fail-safe watchdog: stale inputs, LiDAR blockage and clock jumps, each named in the diagnostics.

FMVSS No. 127 asks for sensor blockage to be detected and reported; Autoware's AEB stayed silent
when its point cloud stopped (their issue #5633). The node polls :meth:`Watchdog.faults` on a timer,
so a dead sensor is noticed without waiting for the next message that never comes.
"""

from __future__ import annotations

import numpy as np

from av_edge.core.aeb.availability import Fault
from av_edge.core.aeb.config import WatchdogConfig
from av_edge.core.geometry import polar
from av_edge.core.health import NodeHealth

CLOCK_FAULT_HOLD_NS = 2_000_000_000
BLOCKAGE_STRIDE = 4


class Watchdog:
    def __init__(self, config: WatchdogConfig, health: NodeHealth) -> None:
        self.config = config
        self.health = health
        self._offset_ns: int | None = None
        self._last_stamp_ns: int | None = None
        self._clock_fault_until_ns = -1
        self.blocked_sectors: list[tuple[float, float]] = []
        self.odometry_error: str | None = None  # why the latest odometry was rejected (None: it was valid)

    def on_cloud(self, xyz_lidar: np.ndarray, stamp_ns: int, now_ns: int) -> None:
        cfg = self.config
        offset = now_ns - stamp_ns
        backwards = self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns
        jumped = self._offset_ns is not None and abs(offset - self._offset_ns) > cfg.clock_jump_s * 1e9
        if backwards or jumped:
            self._clock_fault_until_ns = now_ns + CLOCK_FAULT_HOLD_NS
        self._offset_ns, self._last_stamp_ns = offset, stamp_ns
        self.blocked_sectors = blocked_sectors(xyz_lidar, cfg)

    def faults(self, now_ns: int) -> list[str]:
        """Causes of degraded operation right now (empty when healthy)."""
        return [f.reason for f in self.sensor_faults(now_ns)]

    def sensor_faults(self, now_ns: int) -> list[Fault]:
        """The same, with the input each concerns and whether braking is left with nothing to go on."""
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
        if now_ns < self._clock_fault_until_ns:
            found.append(Fault("clock", "jump", "clock jump", False))
        return found


def blocked_sectors(xyz_lidar: np.ndarray, cfg: WatchdogConfig) -> list[tuple[float, float]]:
    """Forward sectors (sensor frame azimuth, degrees) with fewer than ``blockage_min_points`` returns."""
    if cfg.blockage_fov_deg <= 0:
        return []
    # Every 4th return is plenty to count sectors (thousands each on a clear road); OpenCV's polar
    # conversion is ~15x faster than arctan2.
    sample = xyz_lidar[::BLOCKAGE_STRIDE]
    _, angle = polar(sample[:, 0], sample[:, 1])
    azimuth = np.where(angle > 180.0, angle - 360.0, angle)
    edges = np.arange(-cfg.blockage_fov_deg / 2, cfg.blockage_fov_deg / 2 + 1e-9, cfg.blockage_sector_deg)
    counts, _ = np.histogram(azimuth, bins=edges)
    minimum = cfg.blockage_min_points / BLOCKAGE_STRIDE
    return [(float(edges[i]), float(edges[i + 1])) for i in np.flatnonzero(counts < minimum)]
