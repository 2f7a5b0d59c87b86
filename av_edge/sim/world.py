"""Scene primitives: oriented boxes standing on (or floating above) the flat road z = 0, in odom."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """Box with footprint centre (x, y), heading ``yaw``, spanning z_min..z_min + height."""

    x: float
    y: float
    length: float
    width: float
    height: float
    label: str = "car"
    z_min: float = 0.0
    yaw: float = 0.0

    @property
    def rear_x(self) -> float:
        """Smallest x of an unrotated box (its rear when facing +x)."""
        return self.x - self.length / 2

    @property
    def z_max(self) -> float:
        return self.z_min + self.height

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners in the box's own frame (centred on its footprint centre)."""
        return (
            np.array([-self.length / 2, -self.width / 2, self.z_min]),
            np.array([self.length / 2, self.width / 2, self.z_min + self.height]),
        )

    def footprint(self) -> np.ndarray:
        """The 4 ground corners ``(4, 2)`` in odom, counter-clockwise."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        half = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * (self.length / 2, self.width / 2)
        return half @ np.array([[c, s], [-s, c]]) + (self.x, self.y)

    def corners(self) -> np.ndarray:
        """The 8 corners ``(8, 3)`` in odom."""
        ground = self.footprint()
        return np.vstack([np.column_stack([ground, np.full(4, z)]) for z in (self.z_min, self.z_max)])

    def overlaps(self, other: Box) -> bool:
        """Do the two solids share volume? (Separating axes of the footprints, then the heights.)"""
        if self.z_min >= other.z_max or other.z_min >= self.z_max:
            return False
        mine, theirs = self.footprint(), other.footprint()
        for yaw in (self.yaw, self.yaw + np.pi / 2, other.yaw, other.yaw + np.pi / 2):
            axis = np.array([np.cos(yaw), np.sin(yaw)])
            a, b = mine @ axis, theirs @ axis
            if a.max() <= b.min() or b.max() <= a.min():
                return False
        return True

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Mask of ``(N, 3)`` odom points inside the box grown by ``margin``."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        dx, dy = points[:, 0] - self.x, points[:, 1] - self.y
        u, v = c * dx + s * dy, -s * dx + c * dy
        return (
            (np.abs(u) <= self.length / 2 + margin)
            & (np.abs(v) <= self.width / 2 + margin)
            & (points[:, 2] >= self.z_min - margin)
            & (points[:, 2] <= self.z_max + margin)
        )
