"""The predicted ego path and Frenet coordinates along it.

Two shapes: the constant-turn-rate :class:`Arc` from odometry, and the lane ahead
(:class:`Polyline`) when a lane centreline is known and the ego is following it. The arc alone runs
straight on at a bend until the ego starts turning, into whatever stands where the road bends away;
a driver following the lane turns there. The lane is used only while the ego follows it (near its
centre line, along it, turning as it turns), so a car leaving its lane is judged on the arc again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from av_edge.core.config import bounded


class EgoPath(Protocol):
    def coordinates(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(arc length s, lateral offset d, left positive) of base_link ``(N, 2)`` points; s = -inf off the path."""
        ...

    def heading(self, s: np.ndarray) -> np.ndarray:
        """The path's heading (rad, base_link) at arc lengths ``s``."""
        ...

    def points(self, s: np.ndarray) -> np.ndarray:
        """``(N, 2)`` base_link points at arc lengths ``s`` (finite) along the path."""
        ...


@dataclass(frozen=True)
class LaneConfig:
    max_offset_m: float = bounded(0.0, 5.0, "the ego follows the lane while this close to its centre line ...")
    max_heading_deg: float = bounded(0.0, 45.0, "... its heading this close to the lane's ...")
    max_curvature_error: float = bounded(0.0, 1.0, "... and its yaw-rate curvature this close to the lane's (1/m)")
    curvature_span_m: float = bounded(1.0, 50.0, "the lane's curvature is compared along this length around the ego")
    segment_m: float = bounded(0.5, 20.0, "lane resampled to chords this long (error s^2/8R)")


def path_curvature(speed_mps: float, yaw_rate: float, max_curvature: float) -> float:
    """Curvature (1/m, left positive) of the path the ego is on; straight when (nearly) stopped."""
    if speed_mps < 1.0:
        return 0.0
    return float(np.clip(yaw_rate / speed_mps, -max_curvature, max_curvature))


def path_coordinates(xy: np.ndarray, curvature: float) -> tuple[np.ndarray, np.ndarray]:
    """(arc length s, lateral offset d, left positive) of base_link ``(N, 2)`` points along the arc."""
    x, y = xy[:, 0], xy[:, 1]
    if abs(curvature) < 1e-6:
        return x, y
    radius = 1.0 / curvature
    sign = np.sign(radius)
    angle = np.arctan2(x, sign * (radius - y))
    s = np.where(angle >= 0, abs(radius) * angle, -np.inf)  # behind the turn centre: not on the path ahead
    d = sign * (abs(radius) - np.hypot(x, y - radius))
    return s, d


@dataclass(frozen=True)
class Arc:
    """Constant curvature from base_link's origin along +x."""

    curvature: float

    def coordinates(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return path_coordinates(xy, self.curvature)

    def heading(self, s: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(s), s, 0.0) * self.curvature

    def points(self, s: np.ndarray) -> np.ndarray:
        k = self.curvature
        if abs(k) < 1e-6:
            return np.column_stack([s, np.zeros_like(s)])
        return np.column_stack([np.sin(k * s) / k, (1 - np.cos(k * s)) / k])


class Polyline:
    """A path through base_link vertices, with s and d relative to the ego's own foot point on it."""

    def __init__(self, vertices: np.ndarray) -> None:
        self.start = vertices[:-1]
        step = np.diff(vertices, axis=0)
        self.length = np.hypot(step[:, 0], step[:, 1])
        self.unit = step / self.length[:, None]
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.length)[:-1]])
        self.headings = np.arctan2(self.unit[:, 1], self.unit[:, 0])
        s0, d0 = self._project(np.zeros((1, 2)))
        self.s0, self.d0 = float(s0[0]), float(d0[0])

    def _project(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        relative = xy[:, None, :] - self.start[None]  # (point, segment, axis)
        along = relative[..., 0] * self.unit[:, 0] + relative[..., 1] * self.unit[:, 1]
        across = self.unit[:, 0] * relative[..., 1] - self.unit[:, 1] * relative[..., 0]
        clamped = np.clip(along, 0.0, self.length)
        nearest = np.argmin((along - clamped) ** 2 + across**2, axis=1)
        rows = np.arange(xy.shape[0])
        return self.cumulative[nearest] + along[rows, nearest], across[rows, nearest]

    def coordinates(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if xy.shape[0] == 0:
            return np.zeros(0), np.zeros(0)
        s, d = self._project(xy)
        return s - self.s0, d - self.d0

    def curvature_range(self, span_m: float) -> tuple[float, float]:
        """Least and greatest curvature (1/m) between neighbouring segments within ``span_m`` around the ego.

        A range, not a value: where a straight meets an arc the ego turns somewhere between the two.
        """
        turn = np.remainder(np.diff(self.headings) + np.pi, 2 * np.pi) - np.pi
        curvature = turn / ((self.length[:-1] + self.length[1:]) / 2)
        distance = np.abs(self.cumulative[1:] - self.s0)  # to where segment i meets i + 1
        if distance.size == 0:
            return 0.0, 0.0  # one segment: straight
        near = distance <= max(span_m / 2, float(distance.min()))
        return float(curvature[near].min()), float(curvature[near].max())

    def heading(self, s: np.ndarray) -> np.ndarray:
        at = np.where(np.isfinite(s), s, 0.0) + self.s0
        segment = np.clip(np.searchsorted(self.cumulative, at, side="right") - 1, 0, self.length.size - 1)
        return self.headings[segment]

    def points(self, s: np.ndarray) -> np.ndarray:
        """On the lane, offset by the ego's own distance from its centre (the corridor follows the ego)."""
        at = s + self.s0
        segment = np.clip(np.searchsorted(self.cumulative, at, side="right") - 1, 0, self.length.size - 1)
        along = (at - self.cumulative[segment])[:, None]
        centre = self.start[segment] + along * self.unit[segment]
        normal = np.column_stack([-self.unit[segment, 1], self.unit[segment, 0]])
        return centre + self.d0 * normal


def corridor_outline(
    path: EgoPath, start_m: float, reach_m: float, half_width_m: float, step_m: float = 1.0
) -> np.ndarray:
    """``(2N, 2)`` base_link polygon of the corridor from ``start_m`` to ``start_m + reach_m`` along the
    path: the left edge outwards, then the right edge back (for display; the test is corridor_mask)."""
    s = np.linspace(start_m, start_m + reach_m, max(2, round(reach_m / step_m) + 1))
    centre, heading = path.points(s), path.heading(s)
    normal = np.column_stack([-np.sin(heading), np.cos(heading)])
    return np.vstack([centre + half_width_m * normal, (centre - half_width_m * normal)[::-1]])


def lane_path(
    lane_odom: np.ndarray, pose: tuple[float, float, float], curvature: float, reach_m: float, cfg: LaneConfig
) -> Polyline | None:
    """The lane ahead as the ego's path, or None when the ego is not following it.

    ``lane_odom`` is the centre line (M, 2) in odom, ``pose`` base_link's (x, y, yaw) there and
    ``curvature`` the ego's own from the yaw rate. The lane is resampled, kept from a segment behind
    the ego to ``reach_m`` ahead, and extended straight past its end.
    """
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    base = (lane_odom - (x, y)) @ np.array([[c, -s], [s, c]])  # odom -> base_link
    lane = _resample(base, cfg.segment_m)
    if lane.shape[0] < 2:
        return None
    whole = Polyline(lane)
    if abs(whole.d0) > cfg.max_offset_m:
        return None
    ahead = whole.heading(np.array([0.0]))[0]
    if abs(ahead) > math.radians(cfg.max_heading_deg):
        return None
    low, high = whole.curvature_range(cfg.curvature_span_m)
    if not low - cfg.max_curvature_error <= curvature <= high + cfg.max_curvature_error:
        return None
    keep = (whole.cumulative >= whole.s0 - 2 * cfg.segment_m) & (whole.cumulative <= whole.s0 + reach_m)
    if not keep.any():
        return None
    first, last = int(np.argmax(keep)), int(keep.size - np.argmax(keep[::-1]))  # segments [first, last)
    vertices = lane[first : last + 1]
    tail = vertices[-1] + whole.unit[last - 1] * (reach_m + cfg.segment_m)  # straight on past the lane's end
    return Polyline(np.vstack([vertices, tail]))


def _resample(vertices: np.ndarray, spacing: float) -> np.ndarray:
    step = np.hypot(*np.diff(vertices, axis=0).T)
    vertices = vertices[np.concatenate([[True], step > 1e-6])]  # repeated vertices have no direction
    if vertices.shape[0] < 2:
        return vertices
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(vertices, axis=0).T))])
    at = np.linspace(0.0, along[-1], max(2, math.ceil(along[-1] / spacing) + 1))
    return np.column_stack([np.interp(at, along, vertices[:, 0]), np.interp(at, along, vertices[:, 1])])
