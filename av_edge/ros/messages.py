"""Core values <-> ROS messages: stamps, clouds, images, diagnostics."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, Vector3
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from av_edge.core.camera import CameraConfig
from av_edge.core.diagnostics import Level, Status
from av_edge.core.ego import EgoPose
from av_edge.core.image import ImageBuffer
from av_edge.core.objects import CLASSES, CONFIRMED_SCORE
from av_edge.core.pointcloud import CloudBuffer


def stamp_to_ns(stamp: Time) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def header(stamp_ns: int, frame_id: str) -> Header:
    return Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id)


def cloud_msg(cloud: CloudBuffer, stamp_ns: int, frame_id: str) -> PointCloud2:
    msg = PointCloud2(
        header=header(stamp_ns, frame_id),
        height=cloud.height,
        width=cloud.width,
        fields=[PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count) for f in cloud.fields],
        is_bigendian=cloud.is_bigendian,
        point_step=cloud.point_step,
        row_step=cloud.row_step,
        is_dense=cloud.is_dense,
    )
    msg.data = cloud.data  # assigned after construction: rclpy copies bytes once here
    return msg


def image_msg(image: ImageBuffer, stamp_ns: int, frame_id: str) -> Image:
    msg = Image(
        header=header(stamp_ns, frame_id),
        height=image.height,
        width=image.width,
        encoding=image.encoding,
        is_bigendian=int(image.is_bigendian),
        step=image.step,
    )
    msg.data = image.data
    return msg


def diagnostic_status(status: Status) -> DiagnosticStatus:
    return DiagnosticStatus(
        level=bytes([int(status.level)]),
        name=status.name,
        message=status.message,
        hardware_id=status.hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in status.values.items()],
    )


def diagnostic_array(statuses: list[Status], stamp_ns: int) -> DiagnosticArray:
    return DiagnosticArray(header=header(stamp_ns, ""), status=[diagnostic_status(s) for s in statuses])


def pose_yaw(pose: Pose) -> float:
    """Heading of a planar pose from its quaternion."""
    q = pose.orientation
    return float(np.arctan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z)))


def object_markers(objects: np.ndarray, stamp_ns: int, frame_id: str) -> MarkerArray:
    """A cube and a label (track, class, confidence, speed) per object (OBJECT_DTYPE); DELETEALL first so
    stale ones vanish."""
    head = header(stamp_ns, frame_id)
    markers = [Marker(header=head, action=Marker.DELETEALL)]
    for i, obj in enumerate(objects):
        yaw = float(obj["yaw"])
        pose = Pose(
            position=Point(x=float(obj["x"]), y=float(obj["y"]), z=float(obj["z"])),
            orientation=Quaternion(z=float(np.sin(yaw / 2)), w=float(np.cos(yaw / 2))),
        )
        confirmed = float(obj["score"]) >= CONFIRMED_SCORE
        markers.append(
            Marker(
                header=head,
                ns="objects",
                id=i,
                type=Marker.CUBE,
                action=Marker.ADD,
                pose=pose,
                scale=Vector3(
                    x=max(float(obj["length"]), 0.1), y=max(float(obj["width"]), 0.1), z=max(float(obj["height"]), 0.1)
                ),
                color=ColorRGBA(r=0.1, g=0.8 if confirmed else 0.4, b=1.0, a=0.5),
            )
        )
        markers.append(
            Marker(
                header=head,
                ns="track_ids",
                id=i,
                type=Marker.TEXT_VIEW_FACING,
                action=Marker.ADD,
                pose=Pose(position=Point(x=pose.position.x, y=pose.position.y, z=pose.position.z + 1.2)),
                scale=Vector3(z=0.6),
                color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
                text=_object_label(obj),
            )
        )
    return MarkerArray(markers=markers)


def _object_label(obj: np.void) -> str:
    """``12 pedestrian 0.83 1.4 m/s``: track, class and the cameras' confidence (when they gave one), speed."""
    speed = f"{float(np.hypot(obj['vx'], obj['vy'])):.1f} m/s"
    cls = int(obj["class_id"])
    name = CLASSES[cls] if 0 <= cls < len(CLASSES) else str(cls)
    confidence = f" {float(obj['class_score']):.2f}" if float(obj["class_score"]) > 0 else ""
    return f"{int(obj['track_id'])} {name}{confidence} {speed}"


def ego_pose(msg: Odometry) -> EgoPose:
    """The ego pose, speed and yaw rate an Odometry message carries."""
    pose, twist = msg.pose.pose, msg.twist.twist
    return EgoPose(
        pose.position.x, pose.position.y, pose_yaw(pose), twist.linear.x, twist.angular.z, stamp_to_ns(msg.header.stamp)
    )


def path_points(msg: Path) -> np.ndarray:
    """``(M, 2)`` x, y of a Path's poses (a lane is a few hundred poses: no cloud-sized loop)."""
    return np.array([[p.pose.position.x, p.pose.position.y] for p in msg.poses], float).reshape(-1, 2)


def path_msg(xy: np.ndarray, stamp_ns: int, frame_id: str = "odom") -> Path:
    """A Path through ``(M, 2)`` points (orientation left identity: a centre line, not a trajectory)."""
    msg = Path(header=header(stamp_ns, frame_id))
    for x, y in np.asarray(xy, float).tolist():
        pose = PoseStamped(header=msg.header)
        pose.pose.position.x, pose.pose.position.y = x, y
        msg.poses.append(pose)
    return msg


def odometry_msg(x: float, y: float, yaw: float, speed_mps: float, yaw_rate: float, stamp_ns: int) -> Odometry:
    """Planar odometry of base_link in odom."""
    msg = Odometry(header=header(stamp_ns, "odom"), child_frame_id="base_link")
    msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = float(np.sin(yaw / 2)), float(np.cos(yaw / 2))
    msg.twist.twist.linear.x = speed_mps
    msg.twist.twist.angular.z = yaw_rate
    return msg


def camera_info_msg(camera: CameraConfig, stamp_ns: int) -> CameraInfo:
    """Pinhole CameraInfo without distortion, in the camera's optical frame."""
    k = camera.intrinsics()
    projection = np.hstack([k, np.zeros((3, 1))])
    return CameraInfo(
        header=header(stamp_ns, camera.optical_frame),
        height=camera.height,
        width=camera.width,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=k.ravel().tolist(),
        r=np.eye(3).ravel().tolist(),
        p=projection.ravel().tolist(),
    )


def statuses(msg: DiagnosticArray) -> list[Status]:
    """``diagnostic_msgs`` statuses back into core values (events and diagnostics the recorder reads)."""
    return [
        Status(
            Level(int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level)),
            s.name,
            s.message,
            s.hardware_id,
            {kv.key: kv.value for kv in s.values},
        )
        for s in msg.status
    ]


def msgtype_of(msg: Any) -> str:
    """``sensor_msgs/msg/PointCloud2`` for a PointCloud2 instance."""
    package = type(msg).__module__.split(".")[0]
    return f"{package}/msg/{type(msg).__name__}"


def message_class(msgtype: str) -> type:
    """The rclpy message class of ``pkg/msg/Type``."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)
