"""Core values <-> ROS messages: stamps, clouds, images, diagnostics."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Header

from av_edge.core.diagnostics import Status
from av_edge.core.image import ImageBuffer
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


def diagnostic_array(statuses: list[Status], stamp_ns: int) -> DiagnosticArray:
    return DiagnosticArray(
        header=header(stamp_ns, ""),
        status=[
            DiagnosticStatus(
                level=bytes([int(s.level)]),
                name=s.name,
                message=s.message,
                hardware_id=s.hardware_id,
                values=[KeyValue(key=k, value=v) for k, v in s.values.items()],
            )
            for s in statuses
        ],
    )
