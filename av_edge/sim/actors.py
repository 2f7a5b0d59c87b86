"""Scripted actors: vehicles, pedestrians, cyclists and road furniture moving in road (Frenet) coordinates.

Vehicles drive along the road (negative speed: oncoming), may brake or accelerate from a given
time and change lanes on a smooth (half-cosine) lateral profile; anything may cross the road at a
lateral speed from a given time (pedestrians, cyclists, a vehicle at a junction). Pedestrians and
children are built from four boxes (legs, torso, head) with a walking gait, so the LiDAR sees a
person, not a crate. ``dims`` overrides the kind's size (size variation, debris of a given height,
a bridge at a given clearance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.objects import CLASSES, OBJECT_DTYPE, SOURCE_LIDAR
from av_edge.sim.road import Road
from av_edge.sim.world import Box

#: kind -> (length, width, height, z_min)
SIZES: dict[str, tuple[float, float, float, float]] = {
    "car": (4.5, 1.8, 1.5, 0.0),
    "truck": (9.0, 2.5, 3.2, 0.0),
    "cyclist": (1.8, 0.6, 1.7, 0.0),
    "pedestrian": (0.5, 0.6, 1.8, 0.0),
    "motorcycle": (2.2, 0.8, 1.5, 0.0),
    "child": (0.35, 0.45, 1.15, 0.0),
    "debris": (0.8, 1.0, 0.3, 0.0),
    "bollard": (0.25, 0.25, 1.0, 0.0),
    "trench_plate": (2.4, 3.7, 0.025, 0.0),
    "speed_bump": (0.5, 3.7, 0.08, 0.0),
    "rail": (0.1, 3.7, 0.04, 0.0),
    "manhole": (0.8, 0.8, 0.02, 0.0),
    "gantry": (1.0, 20.0, 1.0, 5.0),
    "bridge": (12.0, 30.0, 1.5, 5.0),
    "wall": (10.0, 0.5, 3.0, 0.0),
}
PEOPLE = ("pedestrian", "child")


@dataclass(frozen=True)
class Actor:
    """An actor's script. Times are seconds since the scenario started."""

    kind: str
    s: float  # arc length of the footprint centre at t = 0
    d: float  # lateral offset at t = 0 (left +)
    speed_mps: float = 0.0  # along the road; negative = oncoming
    decel_mps2: float = 0.0
    decel_start_s: float = math.inf
    cross_speed_mps: float = 0.0  # lateral, signed (+ = towards the left)
    cross_start_s: float = math.inf
    cross_end_d: float = math.nan  # stops crossing here (nan: walks on)
    cross_moving: bool = False  # on its crossing line at cross_speed_mps before cross_start_s too (traffic)
    accel_mps2: float = 0.0  # speeds up from accel_start_s ...
    accel_start_s: float = math.inf
    accel_to_mps: float = 0.0  # ... until this speed
    lane_change_start_s: float = math.inf
    lane_change_to_d: float = 0.0
    lane_change_mps: float = 1.0  # mean lateral speed of the lane change
    dims: tuple[float, float, float, float] | None = None  # (length, width, height, z_min); None: the kind's

    @property
    def size(self) -> tuple[float, float, float, float]:
        return self.dims if self.dims is not None else SIZES[self.kind]

    @property
    def class_id(self) -> int:
        kind = "pedestrian" if self.kind == "child" else "cyclist" if self.kind == "motorcycle" else self.kind
        return CLASSES.index(kind) if kind in CLASSES else 0

    @property
    def solid(self) -> bool:
        """Can the ego hit it? (A trench plate is driven over, a gantry driven under.)"""
        _, _, height, z_min = self.size
        return z_min < 1.0 and z_min + height > 0.15

    def frenet(self, t: float) -> tuple[float, float, float, float]:
        """(s, d, ds/dt, dd/dt) at time ``t``."""
        s, speed = self._longitudinal(t)
        d, lateral = self.d, 0.0
        if self.cross_speed_mps and (t > self.cross_start_s or self.cross_moving):
            d = self.d + self.cross_speed_mps * (t - self.cross_start_s)
            lateral = self.cross_speed_mps
            if not math.isnan(self.cross_end_d) and (d - self.cross_end_d) * self.cross_speed_mps >= 0:
                d, lateral = self.cross_end_d, 0.0
        elif t > self.lane_change_start_s:
            shift = self.lane_change_to_d - self.d
            duration = abs(shift) / self.lane_change_mps
            phase = min((t - self.lane_change_start_s) / duration, 1.0) if duration > 0 else 1.0
            d = self.d + shift * (1 - math.cos(math.pi * phase)) / 2
            lateral = shift * math.pi / (2 * duration) * math.sin(math.pi * phase) if phase < 1.0 else 0.0
        return s, d, speed, lateral

    def _longitudinal(self, t: float) -> tuple[float, float]:
        """(s, ds/dt): constant speed, then braking to a stop or speeding up to ``accel_to_mps``."""
        v0 = self.speed_mps
        a, t0, sign = self.decel_mps2, self.decel_start_s, math.copysign(1.0, v0)
        if a > 0 and t > t0:
            braking = min(t - t0, abs(v0) / a)
            return self.s + v0 * t0 + v0 * braking - sign * a * braking**2 / 2, v0 - sign * a * braking
        a, t0 = self.accel_mps2, self.accel_start_s
        if a > 0 and t > t0:
            rising = min(t - t0, max(abs(self.accel_to_mps) - abs(v0), 0.0) / a)
            s = self.s + v0 * t0 + v0 * rising + sign * a * rising**2 / 2
            speed = v0 + sign * a * rising
            return s + speed * (t - t0 - rising), speed
        return self.s + v0 * t, v0

    def heading(self, road: Road, t: float) -> float:
        s, _, speed, lateral = self.frenet(t)
        yaw = road.pose(s)[2]
        if self.cross_speed_mps and lateral:  # crossing: facing across the road
            return yaw + math.copysign(math.pi / 2, lateral)
        if lateral:  # changing lanes: along its velocity
            return yaw + math.atan2(lateral, speed) if speed else yaw + math.copysign(math.pi / 2, lateral)
        return yaw + (math.pi if speed < 0 else 0.0)

    def velocity(self, road: Road, t: float) -> tuple[float, float]:
        """Velocity over ground (odom axes)."""
        s, _, speed, lateral = self.frenet(t)
        yaw = road.pose(s)[2]
        c, n = math.cos(yaw), math.sin(yaw)
        return speed * c - lateral * n, speed * n + lateral * c

    def boxes(self, road: Road, t: float) -> list[Box]:
        s, d, _, lateral = self.frenet(t)
        x, y, _ = road.pose(s, d)
        yaw = self.heading(road, t)
        length, width, height, z_min = self.size
        if self.kind not in PEOPLE:
            return [Box(x, y, length, width, height, self.kind, z_min, yaw)]
        walking = bool(lateral) or self.speed_mps != 0
        scale = height / SIZES["pedestrian"][2]  # a child is a smaller adult
        stride = 0.18 * scale * math.sin(2 * math.pi * 1.0 * t) if walking else 0.0
        return _person(x, y, yaw, stride, scale)


def _person(x: float, y: float, yaw: float, stride: float, scale: float = 1.0) -> list[Box]:
    """Legs (apart by the stride), torso and head of a 1.75 m adult (times ``scale``) facing ``yaw``."""
    c, s = math.cos(yaw), math.sin(yaw)

    def part(forward: float, left: float, length: float, width: float, height: float, z_min: float) -> Box:
        left, length, width, height, z_min = (v * scale for v in (left, length, width, height, z_min))
        return Box(
            x + c * forward - s * left, y + s * forward + c * left, length, width, height, "pedestrian", z_min, yaw
        )

    return [
        part(stride, 0.1, 0.14, 0.14, 0.85, 0.0),
        part(-stride, -0.1, 0.14, 0.14, 0.85, 0.0),
        part(0.0, 0.0, 0.25, 0.42, 0.6, 0.85),
        part(0.0, 0.0, 0.2, 0.18, 0.25, 1.5),
    ]


def ground_truth(actors: list[Actor], road: Road, t: float) -> np.ndarray:
    """Actor boxes and velocities in odom as an OBJECT_DTYPE array (track_id = actor index + 1)."""
    truth = np.zeros(len(actors), dtype=OBJECT_DTYPE)
    for i, actor in enumerate(actors):
        s, d, _, _ = actor.frenet(t)
        x, y, _ = road.pose(s, d)
        length, width, height, z_min = actor.size
        vx, vy = actor.velocity(road, t)
        truth[i] = (
            x,
            y,
            z_min + height / 2,
            length,
            width,
            height,
            actor.heading(road, t),
            vx,
            vy,
            actor.class_id,
            1.0,
            i + 1,
            0.0,
            0.0,
            1.0,
            0.0,  # v_sigma: exact
            SOURCE_LIDAR,
            0.0,  # standing: not judged from returns
        )
    return truth
