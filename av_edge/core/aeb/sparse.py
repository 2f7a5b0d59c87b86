"""A standing obstacle seen by too few returns for the corridor's ``min_points``: low or far debris.

Lost cargo 0.3 m tall at 60-90 m returns two to four points above the corridor's floor on a scan,
not the five a single scan needs to be believed; at 80 km/h it had its five only 25-30 m ahead,
too late to stop. Evidence builds over scans instead: the nearest group of ``min_points`` returns
within ``cluster_m`` of each other along the path, where the body itself would pass (no lateral
margin), is a candidate; it is an obstacle once ``motion.min_samples`` scans put it on one line
(the range-rate fit of :mod:`~av_edge.core.aeb.motion`, so its speed is measured, not assumed)
and that line stands (at most ``max_speed_mps`` along the path). A drop, a stray return or a
moving thing's few returns do not stay where the ego's own travel predicts them.
"""

from __future__ import annotations

import numpy as np

from av_edge.core.aeb.config import SparseConfig
from av_edge.core.aeb.motion import InPathMotion, MotionConfig
from av_edge.core.aeb.threat import Obstacle


class SparseObstacle:
    """Feed each scan's corridor returns; read a standing obstacle in front of the corridor's own one."""

    def __init__(self, config: SparseConfig, motion: MotionConfig) -> None:
        self.config = config
        self._motion = InPathMotion(motion)

    def update(
        self,
        points: np.ndarray,
        mask: np.ndarray,
        s: np.ndarray,
        d: np.ndarray,
        nearest_gap_m: float,
        front_m: float,
        ego_speed_mps: float,
        stamp_ns: int,
    ) -> tuple[Obstacle, float] | None:
        """The standing obstacle and its measured speed, or None.

        ``points``: base_link returns; ``mask``: the corridor's; ``s``/``d``: their arc length along and
        distance from the path; ``nearest_gap_m``: the corridor's own obstacle (inf: none); only returns
        more than ``cluster_m`` in front of it count.
        """
        cfg = self.config
        if not cfg.enabled:
            return None
        # In front of the corridor's own obstacle, not its nearest few returns.
        inside = np.flatnonzero(mask & (d < cfg.half_width_m) & (s - front_m < nearest_gap_m - cfg.cluster_m))
        order = inside[np.argsort(s[inside])]
        k = cfg.min_points
        group = None
        if order.shape[0] >= k:
            spans = s[order[k - 1 :]] - s[order[: order.shape[0] - k + 1]]
            first = np.flatnonzero(spans <= cfg.cluster_m)
            if first.size:
                group = order[first[0] : first[0] + k]
        gap = None if group is None else float(s[group].max() - front_m)
        speed = self._motion.update(gap, ego_speed_mps, stamp_ns)
        if gap is None or group is None or speed is None or abs(speed) > cfg.max_speed_mps:
            return None
        return Obstacle(gap_m=gap, lateral_m=float(points[group, 1].mean()), n_points=k), speed
