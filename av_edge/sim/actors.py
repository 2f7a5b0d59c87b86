"""Scripted actors: vehicles, pedestrians, cyclists and road furniture moving in road (Frenet) coordinates.

Vehicles drive along the road (negative speed: oncoming) and may brake from a given time;
pedestrians may cross the road at a lateral speed from a given time. Pedestrians are built from
four boxes (legs, torso, head) with a walking gait, so the LiDAR sees a person, not a crate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from av_edge.core.perception.objects import CLASSES, OBJECT_DTYPE
from av_edge.sim.road import Road
from av_edge.sim.world import Box

#: kind -> (length, width, height, z_min)
SIZES: dict[str, tuple[float, float, float, float]] = {
    "car": (4.5, 1.8, 1.5, 0.0),
    "truck": (9.0, 2.5, 3.2, 0.0),
    "cyclist": (1.8, 0.6, 1.7, 0.0),
    "pedestrian": (0.5, 0.6, 1.8, 0.0),
    "trench_plate": (2.4, 3.7, 0.025, 0.0),
    "gantry": (1.0, 20.0, 1.0, 5.0),
}


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

    @property
    def size(self) -> tuple[float, float, float, float]:
        return SIZES[self.kind]

    @property
    def class_id(self) -> int:
        return CLASSES.index(self.kind) if self.kind in CLASSES else 0

    @property
    def solid(self) -> bool:
        """Can the ego hit it? (A trench plate is driven over, a gantry driven under.)"""
        _, _, height, z_min = self.size
        return z_min < 1.0 and z_min + height > 0.15

    def frenet(self, t: float) -> tuple[float, float, float, float]:
        """(s, d, ds/dt, dd/dt) at time ``t``."""
        v0, a, t0 = self.speed_mps, self.decel_mps2, self.decel_start_s
        if a > 0 and t > t0:
            braking = min(t - t0, abs(v0) / a)
            sign = math.copysign(1.0, v0)
            s = self.s + v0 * t0 + v0 * braking - sign * a * braking**2 / 2
            speed = v0 - sign * a * braking
        else:
            s, speed = self.s + v0 * t, v0
        d, lateral = self.d, 0.0
        if self.cross_speed_mps and t > self.cross_start_s:
            d = self.d + self.cross_speed_mps * (t - self.cross_start_s)
            lateral = self.cross_speed_mps
            if not math.isnan(self.cross_end_d) and (d - self.cross_end_d) * self.cross_speed_mps >= 0:
                d, lateral = self.cross_end_d, 0.0
        return s, d, speed, lateral

    def heading(self, road: Road, t: float) -> float:
        s, _, speed, lateral = self.frenet(t)
        yaw = road.pose(s)[2]
        if lateral:
            return yaw + math.copysign(math.pi / 2, lateral)
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
        if self.kind != "pedestrian":
            return [Box(x, y, length, width, height, self.kind, z_min, yaw)]
        walking = bool(lateral) or self.speed_mps != 0
        return _person(x, y, yaw, stride=0.18 * math.sin(2 * math.pi * 1.0 * t) if walking else 0.0)


def _person(x: float, y: float, yaw: float, stride: float) -> list[Box]:
    """Legs (apart by the stride), torso and head of a 1.75 m adult facing ``yaw``."""
    c, s = math.cos(yaw), math.sin(yaw)

    def part(forward: float, left: float, length: float, width: float, height: float, z_min: float) -> Box:
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
        )
    return truth
