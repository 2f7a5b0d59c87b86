"""The suite's planner check: every plan of a planning scenario against the true obstacle footprints,
the lane, and the behaviour the scenario expects (swerve, stop, follow)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from av_edge.core.ego import EgoPose
from av_edge.core.planning.planner import Plan
from av_edge.core.planning.reference import ReferenceLine
from av_edge.sim.road import Road
from av_edge.sim.world import Box

SEPARATION_EPS = 1e-6


def road_reference(road: Road, length_m: float = 400.0) -> ReferenceLine:
    """The lane centreline of a scenario's road (what ``~/reference_path`` carries in the simulator)."""
    return ReferenceLine.from_points(np.array(road.centre_line(length_m)))


@dataclass
class PlanningCheck:
    expected: str
    reference: ReferenceLine
    lane_half_width_m: float
    vehicle: tuple[float, float, float]  # rear, front, width
    plans: int = 0
    collisions: int = 0
    outside_lane: int = 0
    max_offset_m: float = 0.0
    passed_obstacle: bool = False
    stop_plans: int = 0
    bad_stops: int = 0
    planning_ms: list[float] = field(default_factory=list)

    def check(self, plan: Plan, boxes: list[Box], ego: EgoPose, planning_ms: float) -> None:
        self.plans += 1
        self.planning_ms.append(planning_ms)
        rear, front, width = self.vehicle
        obstacles = [b.footprint() for b in boxes if b.z_min < 1.0 and b.z_max > 0.15]
        for (x, y), yaw in zip(plan.xy, plan.yaw, strict=True):
            ego_box = _rectangle(x, y, yaw, rear, front, width)
            if any(_overlap(ego_box, o) for o in obstacles):
                self.collisions += 1
                break
        _, d = self.reference.to_frenet(plan.xy)
        self.max_offset_m = max(self.max_offset_m, float(np.abs(d).max()))
        if np.abs(d).max() > self.lane_half_width_m - width / 2 + 0.05:
            self.outside_lane += 1
        ahead = [o for o in obstacles if _ahead_of(o, ego) > 0]
        if plan.status == "ok" and ahead and plan.speed[-1] > 1.0:
            s_plan, _ = self.reference.to_frenet(plan.xy[-1:])
            s_obstacles, _ = self.reference.to_frenet(np.array([o.mean(axis=0) for o in ahead]))
            self.passed_obstacle |= bool((s_plan[0] - rear > s_obstacles + 2.5).any())
        if plan.status == "stop":
            self.stop_plans += 1
            s_end, _ = self.reference.to_frenet(plan.xy[-1:])
            s_rear = min((float(self.reference.to_frenet(o)[0].min()) for o in ahead), default=float("inf"))
            self.bad_stops += int(s_end[0] + front > s_rear)

    def outcome(self) -> tuple[str, str]:
        """(outcome, why): the expected behaviour's name when it held, else ``path_failed``."""
        if self.plans == 0:
            return "path_failed", "no plans"
        if self.collisions or self.outside_lane:
            return "path_failed", f"{self.collisions} plans through an obstacle, {self.outside_lane} outside the lane"
        if self.expected == "path_swerve" and not self.passed_obstacle:
            return "path_failed", "never planned past the obstacle"
        if self.expected == "path_stop" and (self.stop_plans == 0 or self.bad_stops or self.passed_obstacle):
            return "path_failed", f"{self.stop_plans} stop plans, {self.bad_stops} ending too late"
        if self.expected == "path_follow" and self.max_offset_m > 0.2:
            return "path_failed", f"left the lane centre by {self.max_offset_m:.2f} m"
        return self.expected, ""


def _ahead_of(footprint: np.ndarray, ego: EgoPose) -> float:
    c, s = np.cos(ego.yaw), np.sin(ego.yaw)
    rel = footprint.mean(axis=0) - (ego.x, ego.y)
    return float(c * rel[0] + s * rel[1])


def _rectangle(x: float, y: float, yaw: float, rear: float, front: float, width: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.array([[-rear, -width / 2], [front, -width / 2], [front, width / 2], [-rear, width / 2]])
    return np.asarray(local @ np.array([[c, s], [-s, c]]) + (x, y))


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating axis test of two convex quadrilaterals."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() - SEPARATION_EPS or pb.max() < pa.min() - SEPARATION_EPS:
                return False
    return True
