"""The object list, the brake request and the planner's speed profile as the field values of standard messages.

``vision_msgs/Detection3DArray`` and Autoware's ``autoware_perception_msgs`` (DetectedObjects,
TrackedObjects, PredictedObjects), ``autoware_control_msgs/Longitudinal`` and
``autoware_planning_msgs/Trajectory``: the adapter node
(:mod:`av_edge.nodes.adapter_node`) fills the real messages from these values where those packages
are installed; here they are plain data, so every conversion is tested without them.

Conventions, as Autoware documents them: poses in the list's frame (base_link); twist and
acceleration in the object's own frame (x along its heading); class labels from
``autoware_perception_msgs/ObjectClassification`` (av_edge's own ``class_id`` differs: 3 is
pedestrian here, BUS there). Of the covariances only the velocity's is estimated (the tracker's
``v_sigma``, the same on both ground axes, so in any frame): the twist covariance's linear x and y
diagonal; pose and acceleration covariances are sent as unknown (``has_*_covariance`` false, zeros),
never made up.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded, described
from av_edge.core.objects import CLASSES

# autoware_perception_msgs/ObjectClassification
AUTOWARE_LABELS = {"unknown": 0, "car": 1, "truck": 2, "cyclist": 6, "pedestrian": 7}  # 6: BICYCLE
# autoware_perception_msgs/DetectedObjectKinematics: a box's heading is known up to 180 degrees
ORIENTATION_SIGN_UNKNOWN = 1
SHAPE_BOUNDING_BOX = 0
LIDAR_CLASS_PROBABILITY = 0.5  # no camera evidence: the class comes from the LiDAR box's size alone


@dataclass(frozen=True)
class StandardObject:
    """One object as standard messages carry it (SI units, the list's frame unless said)."""

    uuid: bytes  # 16 bytes (unique_identifier_msgs/UUID); stable while the track lives
    label: str  # av_edge's class name, also vision_msgs' class_id
    autoware_label: int
    class_probability: float
    existence_probability: float
    position: tuple[float, float, float]  # box centre
    orientation: tuple[float, float, float, float]  # quaternion x, y, z, w (yaw about z)
    dimensions: tuple[float, float, float]  # length, width, height
    velocity: tuple[float, float]  # in the object's frame: along and across its heading
    acceleration: tuple[float, float]  # likewise
    tracked: bool  # a track id: velocity and acceleration are estimates, not zeros
    velocity_sigma: float = 0.0  # m/s, 1 sigma on each ground axis; 0 = not estimated

    def twist_covariance(self) -> list[float]:
        """Row-major 6x6 (x, y, z, roll, pitch, yaw rates): the velocity's variance on x and y, zeros
        elsewhere (not estimated; ``has_twist_covariance`` says whether any of it is)."""
        cov = [0.0] * 36
        cov[0] = cov[7] = self.velocity_sigma**2
        return cov


class TrackUuids:
    """A UUID per track that survives across lists and never repeats: a track id seen again after
    ``forget_s`` (perception restarted, or the id was reused) is a new object with a new UUID."""

    def __init__(self, forget_s: float, new: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> None:
        self._forget_ns = round(forget_s * 1e9)
        self._new = new
        self._seen: dict[int, tuple[bytes, int]] = {}

    def of(self, track_id: int, now_ns: int) -> bytes:
        """The UUID of ``track_id`` (0, untracked: a fresh one every time)."""
        if track_id == 0:
            return self._new()
        known = self._seen.get(track_id)
        value = known[0] if known is not None and now_ns - known[1] <= self._forget_ns else self._new()
        self._seen[track_id] = (value, now_ns)
        return value

    def prune(self, now_ns: int) -> None:
        self._seen = {k: v for k, v in self._seen.items() if now_ns - v[1] <= self._forget_ns}


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def standard_objects(objects: np.ndarray, uuids: TrackUuids, now_ns: int) -> list[StandardObject]:
    """``OBJECT_DTYPE`` rows as :class:`StandardObject` (one pass per list; lists hold tens of objects)."""
    out = []
    for o in objects:
        yaw = float(o["yaw"])
        c, s = math.cos(yaw), math.sin(yaw)
        vx, vy, ax, ay = (float(o[k]) for k in ("vx", "vy", "ax", "ay"))
        class_id = int(o["class_id"])
        label = CLASSES[class_id] if class_id < len(CLASSES) else "unknown"
        class_score = float(o["class_score"])
        out.append(
            StandardObject(
                uuid=uuids.of(int(o["track_id"]), now_ns),
                label=label,
                autoware_label=AUTOWARE_LABELS[label],
                class_probability=class_score if class_score > 0 else LIDAR_CLASS_PROBABILITY,
                existence_probability=float(o["score"]),
                position=(float(o["x"]), float(o["y"]), float(o["z"])),
                orientation=yaw_quaternion(yaw),
                dimensions=(float(o["length"]), float(o["width"]), float(o["height"])),
                velocity=(c * vx + s * vy, -s * vx + c * vy),
                acceleration=(c * ax + s * ay, -s * ax + c * ay),
                tracked=int(o["track_id"]) != 0,
                velocity_sigma=float(o["v_sigma"]),
            )
        )
    uuids.prune(now_ns)
    return out


def predicted_path(obj: StandardObject, horizon_s: float, step_s: float) -> np.ndarray:
    """``(K, 3)`` x, y, yaw every ``step_s`` from now to ``horizon_s``: constant acceleration along the
    current velocity, the object stopping (not reversing) where its speed would cross zero."""
    steps = round(horizon_s / step_s) + 1
    t = np.arange(steps) * step_s
    yaw = 2 * math.atan2(obj.orientation[2], obj.orientation[3])
    c, s = math.cos(yaw), math.sin(yaw)
    v = np.array([c * obj.velocity[0] - s * obj.velocity[1], s * obj.velocity[0] + c * obj.velocity[1]])
    a = np.array([c * obj.acceleration[0] - s * obj.acceleration[1], s * obj.acceleration[0] + c * obj.acceleration[1]])
    speed = float(np.hypot(*v))
    along = float(a @ v / speed) if speed > 0 else 0.0  # tangential part: braking or speeding up
    if along < 0 and speed > 0:
        t = np.minimum(t, speed / -along)  # stopped: stays put
    direction = v / speed if speed > 0 else np.zeros(2)
    distance = speed * t + 0.5 * along * t**2
    heading = math.atan2(v[1], v[0]) if speed > 0.5 else yaw  # a crawling box's velocity heading is noise
    xy = np.array(obj.position[:2]) + distance[:, None] * direction
    return np.column_stack([xy, np.full(steps, heading)])


@dataclass(frozen=True)
class LongitudinalRequest:
    """``autoware_control_msgs/Longitudinal`` for the AEB's brake request."""

    stamp_ns: int
    velocity: float  # target: 0 while braking (to a stop)
    acceleration: float  # m/s^2, <= 0
    is_defined_acceleration: bool


def longitudinal_request(accel_mps2: float, stamp_ns: int) -> LongitudinalRequest | None:
    """The brake request as a longitudinal command; None when the AEB requests nothing (accel 0):
    a downstream controller must then follow its own planner, not a zero acceleration."""
    if not accel_mps2 < 0.0:
        return None
    return LongitudinalRequest(stamp_ns, 0.0, accel_mps2, True)


@dataclass(frozen=True)
class TrajectoryValues:
    """``autoware_planning_msgs/Trajectory`` points from the planner's speed profile (odom)."""

    t_s: np.ndarray  # time from start
    xy: np.ndarray  # (N, 2)
    yaw: np.ndarray  # heading of each pose: along the path towards the next (the last keeps the previous)
    speed_mps: np.ndarray
    accel_mps2: np.ndarray
    heading_rate_rps: np.ndarray


def trajectory_values(profile: np.ndarray) -> TrajectoryValues:
    """Rows of t_s, x_m, y_m, speed_mps, accel_mps2 (the speed profile's layout) as trajectory values;
    ValueError on another shape or a time that does not increase."""
    if profile.ndim != 2 or profile.shape[1] != 5 or profile.shape[0] < 2:
        raise ValueError(f"a speed profile is >= 2 rows of (t, x, y, speed, accel), got shape {profile.shape}")
    t, xy = profile[:, 0], profile[:, 1:3]
    if not np.all(np.diff(t) > 0) or not np.all(np.isfinite(profile)):
        raise ValueError("a speed profile's times must increase and its values be finite")
    step = np.diff(xy, axis=0)
    yaw = np.arctan2(step[:, 1], step[:, 0])
    yaw = np.append(yaw, yaw[-1])
    turn = np.remainder(np.diff(yaw) + np.pi, 2 * np.pi) - np.pi
    rate = np.append(turn / np.diff(t), 0.0)
    return TrajectoryValues(t, xy, yaw, profile[:, 3], profile[:, 4], rate)


@dataclass(frozen=True)
class AdapterConfig:
    """``adapter_node``: which standard messages to publish beside av_edge's own."""

    vision_msgs: bool = described("vision_msgs/Detection3DArray of the object list")
    autoware_detected: bool = described("autoware_perception_msgs/DetectedObjects of the object list")
    autoware_tracked: bool = described("autoware_perception_msgs/TrackedObjects (tracked objects only)")
    autoware_predicted: bool = described(
        "autoware_perception_msgs/PredictedObjects: tracked objects with a constant-acceleration path"
    )
    autoware_longitudinal: bool = described(
        "autoware_control_msgs/Longitudinal of each brake request (none while the AEB requests nothing)"
    )
    autoware_trajectory: bool = described(
        "autoware_planning_msgs/Trajectory of the planner's path and speed profile (odom)"
    )
    prediction_horizon_s: float = bounded(0.5, 10.0, "s, length of each predicted path")
    prediction_step_s: float = bounded(0.05, 1.0, "s between a predicted path's poses")
    uuid_forget_s: float = bounded(0.1, 60.0, "s; a track id unseen this long gets a new UUID when it returns")
