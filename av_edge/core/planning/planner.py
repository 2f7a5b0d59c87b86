"""Sampling-based local planner in the Frenet frame of a reference line.

Candidates are lateral targets (smooth quintic lane-offset transitions) x speed profiles; each is
checked for collision with the vehicle footprint (three discs) against static obstacle points (a
KD-tree over the path geometry) and tracked objects moving at constant velocity (vectorised over
candidates x time x objects). The cheapest collision-free candidate wins (lateral offset, lateral
acceleration and jerk, progress, clearance); the previous choice is kept while it stays feasible
and nearly as cheap, so the path does not flicker. With nothing feasible, a stop profile ends before
the first obstacle on the current line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.planning.reference import ReferenceLine


@dataclass(frozen=True)
class PlannerConfig:
    horizon_s: float = bounded(1.0, 10.0, "s of trajectory planned")
    dt_s: float = bounded(0.05, 0.5, "s between trajectory points")
    min_horizon_m: float = bounded(5.0, 200.0, "look at least this far even when slow")
    lane_half_width_m: float = bounded(0.5, 5.0, "the drivable band around the reference line, per side")
    lateral_step_m: float = bounded(0.05, 2.0, "m between candidate lateral offsets")
    transition_time_s: float = bounded(0.5, 10.0, "a lateral move takes this long (at least 10 m)")
    vehicle_width_m: float = bounded(0.5, 4.0, "m, body width for the collision check")
    vehicle_front_m: float = bounded(0.5, 10.0, "base_link to front bumper")
    vehicle_rear_m: float = bounded(0.0, 5.0, "base_link to rear bumper")
    clearance_m: float = bounded(0.0, 3.0, "kept to every obstacle")
    stop_margin_m: float = bounded(0.0, 20.0, "a stop ends this far before the obstacle")
    max_decel_mps2: float = bounded(0.5, 10.0, "m/s^2, hardest planned stop")
    comfort_decel_mps2: float = bounded(0.5, 10.0, "m/s^2, preferred deceleration")
    max_accel_mps2: float = bounded(0.1, 5.0, "m/s^2, strongest planned acceleration")
    speed_fractions: tuple[float, ...] = bounded(0.0, 1.5, "of the target speed")
    max_lateral_accel_mps2: float = bounded(0.5, 10.0, "m/s^2; candidates above it are infeasible")
    w_offset: float = bounded(0.0, 100.0, "cost weight: lateral offset from the reference line")
    w_lateral_accel: float = bounded(0.0, 100.0, "cost weight: lateral acceleration")
    w_progress: float = bounded(0.0, 100.0, "cost weight: distance not travelled")
    w_clearance: float = bounded(0.0, 100.0, "cost weight: closeness to obstacles")
    keep_ratio: float = bounded(1.0, 2.0, "keep the previous choice while its cost <= best x this")


@dataclass(frozen=True)
class Obstacles:
    points: np.ndarray  # (N, 2) odom, static
    objects_xy: np.ndarray  # (M, 2) odom centres
    objects_v: np.ndarray  # (M, 2) odom velocity
    objects_radius: np.ndarray  # (M,) half diagonal of the footprint


@dataclass(frozen=True)
class Plan:
    t: np.ndarray  # (T,)
    xy: np.ndarray  # (T, 2) odom, base_link positions
    yaw: np.ndarray  # (T,)
    speed: np.ndarray  # (T,)
    accel: np.ndarray  # (T,)
    lateral_target_m: float
    status: str  # "ok" | "stop"
    candidates: np.ndarray  # (C, T, 2) every candidate path (for markers)
    feasible: np.ndarray  # (C,) bool


class LocalPlanner:
    def __init__(self, config: PlannerConfig) -> None:
        self.config = config
        self._previous: tuple[float, float] | None = None  # (lateral target, speed fraction)

    def plan(
        self, reference: ReferenceLine, ego_xy: np.ndarray, speed: float, target_speed: float, obstacles: Obstacles
    ) -> Plan:
        cfg = self.config
        t = np.arange(0.0, cfg.horizon_s + 1e-9, cfg.dt_s)
        s0, d0 = reference.project(np.asarray(ego_xy, float))
        fractions = np.asarray(cfg.speed_fractions, float)
        # speed profiles (F, T): constant acceleration to each target speed, then hold
        goal = target_speed * fractions
        accel = np.where(goal >= speed, cfg.max_accel_mps2, -cfg.comfort_decel_mps2)
        v = np.clip(
            speed + accel[:, None] * t[None], np.minimum(goal, speed)[:, None], np.maximum(goal, speed)[:, None]
        )
        travel = np.concatenate(
            [np.zeros((len(goal), 1)), np.cumsum((v[:, 1:] + v[:, :-1]) / 2 * cfg.dt_s, axis=1)], axis=1
        )
        end_travel = travel[:, -1]
        # a moving candidate must still be able to stop comfortably before the obstacle after the horizon
        reach = end_travel + v[:, -1] ** 2 / (2 * cfg.comfort_decel_mps2) + cfg.vehicle_front_m + cfg.stop_margin_m
        # The static check, the obstacles and the reference cover that reach (a shorter check missed
        # obstacles between its end and where a full-speed candidate would stop).
        horizon_m = max(cfg.min_horizon_m, float(reach.max()), float(travel.max()) + cfg.vehicle_front_m)
        reference = reference.window(s0 - 10.0, s0 + horizon_m + 10.0)
        if len(obstacles.points):
            near = np.hypot(*(obstacles.points - np.asarray(ego_xy, float)).T) <= horizon_m + 10.0
            obstacles = Obstacles(
                obstacles.points[near], obstacles.objects_xy, obstacles.objects_v, obstacles.objects_radius
            )
        limit = cfg.lane_half_width_m - cfg.vehicle_width_m / 2
        targets = np.arange(-limit, limit + 1e-9, cfg.lateral_step_m) if limit > 0 else np.zeros(1)
        targets = np.union1d(np.round(targets, 3), [0.0])
        # lateral profiles (D, S) over arc length: quintic smoothstep from d0 to each target
        length = max(10.0, speed * cfg.transition_time_s)
        ds = np.arange(0.0, horizon_m + 0.5, 0.5)
        u = np.clip(ds / length, 0, 1)
        blend = u**3 * (10 - 15 * u + 6 * u**2)
        d = d0 + (targets[:, None] - d0) * blend[None]
        path_xy, heading = self._geometry(reference, s0 + ds, d)
        blocked_m, clearance = self._static_block(reference, s0, ds, d, obstacles.points)
        # candidates: every lateral target x speed profile
        idx = np.minimum(np.searchsorted(ds, travel), len(ds) - 1)  # (F, T) sample index along the path
        pos = path_xy[:, idx]  # (D, F, T, 2)
        yaw_dir = heading[:, idx]
        static_ok = reach[None, :] <= blocked_m[:, None]
        dynamic_ok = self._dynamic_ok(pos, yaw_dir, t, obstacles)
        feasible = static_ok & dynamic_ok
        lateral_accel = (
            np.abs(np.gradient(np.gradient(d, ds, axis=1), ds, axis=1)).max(axis=1)[:, None] * v.max(axis=1)[None] ** 2
        )
        feasible &= lateral_accel <= cfg.max_lateral_accel_mps2
        cost = (
            cfg.w_offset * np.abs(targets)[:, None]
            + cfg.w_lateral_accel * lateral_accel
            + cfg.w_progress
            * (target_speed * cfg.horizon_s - end_travel)[None]
            / max(target_speed * cfg.horizon_s, 1.0)
            + cfg.w_clearance / (0.2 + clearance[:, None])
        )
        candidates = pos.reshape(len(targets) * len(goal), len(t), 2)
        if feasible.any():
            best_d, best_f = np.unravel_index(np.argmin(np.where(feasible, cost, np.inf)), cost.shape)
            di, fi = self._keep_previous(targets, fractions, feasible, cost, int(best_d), int(best_f))
            self._previous = (float(targets[di]), float(fractions[fi]))
            heading_xy = yaw_dir[di, fi]
            return Plan(
                t,
                pos[di, fi],
                np.arctan2(heading_xy[:, 1], heading_xy[:, 0]),
                v[fi],
                np.gradient(v[fi], t),
                float(targets[di]),
                "stop" if goal[fi] == 0.0 and np.isfinite(blocked_m[di]) else "ok",
                candidates,
                feasible.ravel(),
            )
        self._previous = None
        return self._stop(
            reference, s0, d0, t, speed, ds, path_xy, heading, targets, blocked_m, candidates, feasible, obstacles
        )

    # -- pieces ------------------------------------------------------------------------------------------

    def _geometry(self, reference: ReferenceLine, s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Odom positions (D, S, 2) and unit headings (D, S, 2) of the lateral profiles."""
        base, tangent = reference.frame(s)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        xy = base[None] + d[..., None] * normal[None]
        step = np.diff(xy, axis=1, append=xy[:, -1:] + (xy[:, -1:] - xy[:, -2:-1]))
        return xy, step / np.maximum(np.linalg.norm(step, axis=-1, keepdims=True), 1e-9)

    def _discs(self, xy: np.ndarray, heading: np.ndarray, count: int) -> tuple[np.ndarray, float]:
        """Centres (..., count, 2) of discs along the footprint's length and the radius covering it
        (plus the clearance): many thin discs for the exact static check, three fat ones for objects."""
        cfg = self.config
        offsets = np.linspace(-cfg.vehicle_rear_m, cfg.vehicle_front_m, count)
        half_gap = (cfg.vehicle_front_m + cfg.vehicle_rear_m) / (2 * (count - 1))
        radius = float(np.hypot(cfg.vehicle_width_m / 2, half_gap)) + cfg.clearance_m
        return xy[..., None, :] + offsets[:, None] * heading[..., None, :], radius

    def _static_block(
        self, reference: ReferenceLine, s0: float, ds: np.ndarray, d: np.ndarray, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per lateral profile: distance along the line (from the ego) at which the front bumper would
        reach a point inside the footprint's band (+inf: never), and the smallest lateral clearance.

        In the Frenet frame a point (s_p, d_p) blocks a profile when |d_p - d(s_p)| is within half the
        width plus the clearance; the profiles' offsets change over >= 10 m, so the band at the point's
        arc length stands for the whole footprint there (vectorised over profiles x points)."""
        cfg = self.config
        none = np.full(len(d), np.inf), np.full(len(d), 10.0)
        if len(points) == 0:
            return none
        sp, dp = reference.to_frenet(points)
        ahead = sp - s0
        keep = (ahead > -cfg.vehicle_rear_m) & (ahead <= ds[-1])
        if not keep.any():
            return none
        ahead, dp = ahead[keep], dp[keep]
        lateral = np.abs(dp[None] - _interp_rows(ahead, ds, d))  # (D, N)
        gap = lateral - cfg.vehicle_width_m / 2 - cfg.clearance_m
        blocking = gap < 0
        first = np.where(blocking, np.maximum(ahead[None], 0.0), np.inf).min(axis=1)
        return first, np.clip(gap.min(axis=1), 0.0, 10.0)

    def _dynamic_ok(self, pos: np.ndarray, heading: np.ndarray, t: np.ndarray, obstacles: Obstacles) -> np.ndarray:
        """(D, F) no disc touches any object's predicted position at any time step."""
        discs, radius = self._discs(pos, heading, 3)  # (D, F, T, 3, 2)
        future = obstacles.objects_xy[None] + t[:, None, None] * obstacles.objects_v[None]  # (T, M, 2)
        reach = radius + obstacles.objects_radius
        lo, hi = discs.reshape(-1, 2).min(axis=0), discs.reshape(-1, 2).max(axis=0)
        near = np.all((future.max(axis=0) >= lo - reach[:, None]) & (future.min(axis=0) <= hi + reach[:, None]), axis=1)
        if not near.any():  # no object's sweep comes near any candidate
            return np.ones(pos.shape[:2], bool)
        delta = discs[..., None, :] - future[None, None, :, None][..., near, :]  # (D, F, T, 3, M', 2)
        distance_sq = np.einsum("...i,...i->...", delta, delta)
        return bool_all(distance_sq > reach[near] ** 2)

    def _keep_previous(
        self, targets: np.ndarray, fractions: np.ndarray, feasible: np.ndarray, cost: np.ndarray, di: int, fi: int
    ) -> tuple[int, int]:
        if self._previous is None:
            return di, fi
        pd = np.flatnonzero(np.isclose(targets, self._previous[0]))
        pf = np.flatnonzero(np.isclose(fractions, self._previous[1]))
        if (
            pd.size
            and pf.size
            and feasible[pd[0], pf[0]]
            and cost[pd[0], pf[0]] <= cost[di, fi] * self.config.keep_ratio
        ):
            return int(pd[0]), int(pf[0])
        return di, fi

    def _stop(
        self,
        reference: ReferenceLine,
        s0: float,
        d0: float,
        t: np.ndarray,
        speed: float,
        ds: np.ndarray,
        path_xy: np.ndarray,
        heading: np.ndarray,
        targets: np.ndarray,
        blocked_m: np.ndarray,
        candidates: np.ndarray,
        feasible: np.ndarray,
        obstacles: Obstacles,
    ) -> Plan:
        """Brake to stand on the line nearest the current offset: the gentlest deceleration that stops
        before the first static obstacle and clear of every object's predicted motion, else the hardest."""
        cfg = self.config
        di = int(np.argmin(np.abs(targets - d0)))
        room = blocked_m[di] - cfg.vehicle_front_m - cfg.stop_margin_m
        decels = np.linspace(cfg.comfort_decel_mps2 * 0.5, cfg.max_decel_mps2, 8)
        v_all = np.maximum(speed - decels[:, None] * t[None], 0.0)  # (K, T)
        travel_all = np.concatenate(
            [np.zeros((len(decels), 1)), np.cumsum((v_all[:, 1:] + v_all[:, :-1]) / 2 * cfg.dt_s, axis=1)], axis=1
        )
        idx_all = np.minimum(np.searchsorted(ds, travel_all), len(ds) - 1)
        ok = (travel_all[:, -1] <= room) & self._dynamic_ok(
            path_xy[di][idx_all][None], heading[di][idx_all][None], t, obstacles
        )[0]
        k = int(np.argmax(ok)) if ok.any() else len(decels) - 1
        v, idx = v_all[k], idx_all[k]
        h = heading[di, idx]
        return Plan(
            t,
            path_xy[di, idx],
            np.arctan2(h[:, 1], h[:, 0]),
            v,
            np.gradient(v, t),
            float(targets[di]),
            "stop",
            candidates,
            feasible.ravel(),
        )


def bool_all(mask: np.ndarray) -> np.ndarray:
    """All over the trailing (T, 3, M) axes."""
    return np.asarray(mask.reshape(*mask.shape[:2], -1).all(axis=2))


def _interp_rows(x: np.ndarray, xp: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.interp`` of ``x`` on every row of ``rows`` (sampled at ``xp``), vectorised."""
    i = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2)
    w = np.clip((x - xp[i]) / (xp[i + 1] - xp[i]), 0.0, 1.0)
    return np.asarray(rows[:, i] * (1 - w) + rows[:, i + 1] * w)
