"""Standard messages from :mod:`av_edge.core.standard_objects`' values: vision_msgs and Autoware's.

These packages are on every ROS 2 distro's apt, not on PyPI: each is imported when its builder
first runs, so av_edge works without them and ``adapter_node`` names the one missing.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, PoseWithCovariance, Quaternion, Vector3

from av_edge.core.errors import ConfigError
from av_edge.core.standard_objects import (
    ORIENTATION_SIGN_UNKNOWN,
    SHAPE_BOUNDING_BOX,
    LongitudinalRequest,
    StandardObject,
    TrajectoryValues,
    predicted_path,
    yaw_quaternion,
)
from av_edge.ros.messages import header, ns_to_stamp

#: output -> the ROS packages its messages come from (apt: ros-$ROS_DISTRO-<name with dashes>)
PACKAGES = {
    "vision_msgs": ("vision_msgs",),
    "autoware_detected": ("autoware_perception_msgs",),
    "autoware_tracked": ("autoware_perception_msgs", "unique_identifier_msgs"),
    "autoware_predicted": ("autoware_perception_msgs", "unique_identifier_msgs"),
    "autoware_longitudinal": ("autoware_control_msgs",),
    "autoware_trajectory": ("autoware_planning_msgs",),
}


def messages(package: str) -> ModuleType:
    """``<package>.msg``, or ConfigError naming the apt package to install."""
    try:
        return importlib.import_module(f"{package}.msg")
    except ImportError as err:
        apt = f"ros-<distro>-{package.replace('_', '-')}"
        raise ConfigError(f"{package} is not installed (apt: {apt}): {err}") from None


def _planar_pose(x: float, y: float, z: float, yaw: float) -> Pose:
    q = yaw_quaternion(yaw)
    return Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))


def _pose(o: StandardObject) -> Pose:
    yaw = 2 * math.atan2(o.orientation[2], o.orientation[3])
    return _planar_pose(*o.position, yaw)


def _twist_linear(o: StandardObject) -> Vector3:
    return Vector3(x=o.velocity[0], y=o.velocity[1], z=0.0)


def detection_3d_array(objects: Sequence[StandardObject], stamp_ns: int, frame: str) -> Any:
    vision = messages("vision_msgs")
    detections = []
    for o in objects:
        hypothesis = vision.ObjectHypothesisWithPose(
            hypothesis=vision.ObjectHypothesis(class_id=o.label, score=o.class_probability),
            pose=PoseWithCovariance(pose=_pose(o)),
        )
        box = vision.BoundingBox3D(
            center=_pose(o), size=Vector3(x=o.dimensions[0], y=o.dimensions[1], z=o.dimensions[2])
        )
        detections.append(
            vision.Detection3D(header=header(stamp_ns, frame), results=[hypothesis], bbox=box, id=o.uuid.hex())
        )
    return vision.Detection3DArray(header=header(stamp_ns, frame), detections=detections)


def _common(aw: ModuleType, o: StandardObject) -> dict[str, Any]:
    shape = aw.Shape(
        type=SHAPE_BOUNDING_BOX, dimensions=Vector3(x=o.dimensions[0], y=o.dimensions[1], z=o.dimensions[2])
    )
    classification = [aw.ObjectClassification(label=o.autoware_label, probability=o.class_probability)]
    return {"existence_probability": o.existence_probability, "classification": classification, "shape": shape}


def detected_objects(objects: Sequence[StandardObject], stamp_ns: int, frame: str) -> Any:
    aw = messages("autoware_perception_msgs")
    out = []
    for o in objects:
        kinematics = aw.DetectedObjectKinematics(
            pose_with_covariance=PoseWithCovariance(pose=_pose(o)),
            has_position_covariance=False,
            orientation_availability=ORIENTATION_SIGN_UNKNOWN,
            has_twist=o.tracked,
            has_twist_covariance=o.tracked and o.velocity_sigma > 0,
        )
        kinematics.twist_with_covariance.twist.linear = _twist_linear(o)
        kinematics.twist_with_covariance.covariance = o.twist_covariance()
        out.append(aw.DetectedObject(kinematics=kinematics, **_common(aw, o)))
    return aw.DetectedObjects(header=header(stamp_ns, frame), objects=out)


def _uuid(o: StandardObject) -> Any:
    return messages("unique_identifier_msgs").UUID(uuid=list(o.uuid))


def tracked_objects(objects: Sequence[StandardObject], stamp_ns: int, frame: str) -> Any:
    aw = messages("autoware_perception_msgs")
    out = []
    for o in (o for o in objects if o.tracked):
        kinematics = aw.TrackedObjectKinematics(
            pose_with_covariance=PoseWithCovariance(pose=_pose(o)),
            orientation_availability=ORIENTATION_SIGN_UNKNOWN,
            is_stationary=False,  # deprecated upstream; av_edge does not decide it
        )
        kinematics.twist_with_covariance.twist.linear = _twist_linear(o)
        kinematics.twist_with_covariance.covariance = o.twist_covariance()
        kinematics.acceleration_with_covariance.accel.linear = Vector3(x=o.acceleration[0], y=o.acceleration[1], z=0.0)
        out.append(aw.TrackedObject(object_id=_uuid(o), kinematics=kinematics, **_common(aw, o)))
    return aw.TrackedObjects(header=header(stamp_ns, frame), objects=out)


def predicted_objects(
    objects: Sequence[StandardObject], stamp_ns: int, frame: str, horizon_s: float, step_s: float
) -> Any:
    aw = messages("autoware_perception_msgs")
    step_ns = round(step_s * 1e9)
    out = []
    for o in (o for o in objects if o.tracked):
        kinematics = aw.PredictedObjectKinematics(initial_pose_with_covariance=PoseWithCovariance(pose=_pose(o)))
        kinematics.initial_twist_with_covariance.twist.linear = _twist_linear(o)
        kinematics.initial_twist_with_covariance.covariance = o.twist_covariance()
        kinematics.initial_acceleration_with_covariance.accel.linear = Vector3(
            x=o.acceleration[0], y=o.acceleration[1], z=0.0
        )
        poses = [
            _planar_pose(float(x), float(y), o.position[2], float(yaw))
            for x, y, yaw in predicted_path(o, horizon_s, step_s)
        ]
        path = aw.PredictedPath(
            path=poses, time_step=Duration(sec=step_ns // 10**9, nanosec=step_ns % 10**9), confidence=1.0
        )
        kinematics.predicted_paths = [path]
        out.append(aw.PredictedObject(object_id=_uuid(o), kinematics=kinematics, **_common(aw, o)))
    return aw.PredictedObjects(header=header(stamp_ns, frame), objects=out)


def longitudinal(request: LongitudinalRequest) -> Any:
    control = messages("autoware_control_msgs")
    stamp = ns_to_stamp(request.stamp_ns)
    return control.Longitudinal(
        stamp=stamp,
        control_time=stamp,
        velocity=request.velocity,
        acceleration=request.acceleration,
        jerk=0.0,
        is_defined_acceleration=request.is_defined_acceleration,
        is_defined_jerk=False,
    )


def trajectory(values: TrajectoryValues, stamp_ns: int, frame: str) -> Any:
    planning = messages("autoware_planning_msgs")
    points = []
    for t, (x, y), yaw, v, a, rate in zip(
        values.t_s, values.xy, values.yaw, values.speed_mps, values.accel_mps2, values.heading_rate_rps, strict=True
    ):
        ns = round(float(t) * 1e9)
        points.append(
            planning.TrajectoryPoint(
                time_from_start=Duration(sec=ns // 10**9, nanosec=ns % 10**9),
                pose=_planar_pose(float(x), float(y), 0.0, float(yaw)),
                longitudinal_velocity_mps=float(v),
                acceleration_mps2=float(a),
                heading_rate_rps=float(rate),
            )
        )
    return planning.Trajectory(header=header(stamp_ns, frame), points=points)
