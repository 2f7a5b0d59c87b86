"""The reference line (lane centre) as a polyline in odom with arc length, heading and curvature."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from av_edge.core.ego import MAX_COORDINATE_M

MAX_REFERENCE_M = 2 * MAX_COORDINATE_M  # a valid ego pose plus any look-ahead stays inside


@dataclass(frozen=True)
class ReferenceLine:
    xy: np.ndarray  # (N, 2) odom
    s: np.ndarray  # (N,) arc length from the first point

    @classmethod
    def from_points(cls, xy: np.ndarray) -> ReferenceLine:
        xy = np.asarray(xy, float).reshape(-1, 2)
        if not np.all(np.isfinite(xy)) or np.abs(xy).max(initial=0.0) > MAX_REFERENCE_M:
            raise ValueError(f"a reference line needs finite points within {MAX_REFERENCE_M:g} m of the origin")
        keep = np.concatenate([[True], np.hypot(*np.diff(xy, axis=0).T) > 1e-6])[: len(xy)]
        xy = xy[keep]
        if len(xy) < 2:
            raise ValueError("a reference line needs at least two distinct points")
        return cls(xy, np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]))

    @classmethod
    def straight(cls, x: float, y: float, yaw: float, length_m: float) -> ReferenceLine:
        """Straight ahead along the ego heading (no lane input), from 10 m behind."""
        s = np.linspace(-10.0, length_m, 8)
        return cls.from_points(np.column_stack([x + s * np.cos(yaw), y + s * np.sin(yaw)]))

    def window(self, s_from: float, s_to: float) -> ReferenceLine:
        """The part between two arc lengths (keeps s; fewer segments for the vectorised projections)."""
        i = max(int(np.searchsorted(self.s, s_from, side="right")) - 1, 0)
        j = min(int(np.searchsorted(self.s, s_to, side="left")) + 1, len(self.s))
        if j - i < 2:
            return self
        return ReferenceLine(self.xy[i:j], self.s[i:j])

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def frame(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``(.., 2)`` and unit headings ``(.., 2)`` at arc lengths ``s`` (extrapolated linearly)."""
        s = np.asarray(s, float)
        i = np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2)
        seg = self.xy[i + 1] - self.xy[i]
        length = (self.s[i + 1] - self.s[i])[..., None]
        tangent = seg / length
        point = self.xy[i] + tangent * (s - self.s[i])[..., None]
        return point, tangent

    def project(self, point: np.ndarray) -> tuple[float, float]:
        """(s, d) of one point ``(2,)``."""
        s, d = self.to_frenet(np.asarray(point, float).reshape(1, 2))
        return float(s[0]), float(d[0])

    def to_frenet(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, d) of points ``(N, 2)``: arc length of the nearest point on the line and the signed offset
        (left +); vectorised over points x segments."""
        a, ab = self.xy[:-1], np.diff(self.xy, axis=0)
        rel = xy[:, None, :] - a[None]  # (N, K, 2)
        t = np.clip(np.einsum("nki,ki->nk", rel, ab) / np.einsum("ki,ki->k", ab, ab), 0, 1)
        off = rel - t[..., None] * ab[None]
        k = np.argmin(np.einsum("nki,nki->nk", off, off), axis=1)
        n = np.arange(len(xy))
        seg_len = self.s[1:] - self.s[:-1]
        tangent = ab[k] / seg_len[k, None]
        o = off[n, k]
        return self.s[k] + t[n, k] * seg_len[k], tangent[:, 0] * o[:, 1] - tangent[:, 1] * o[:, 0]
