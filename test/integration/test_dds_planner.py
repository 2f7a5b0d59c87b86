"""planner_node in its own process: odometry, obstacle points and an object list in, a path stamped
with the scan out, over real Fast DDS."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from nav_msgs.msg import Path as PathMsg
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Float32MultiArray

from av_edge import topics
from av_edge.core.objects import OBJECT_DTYPE, encode_objects
from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.messages import cloud_msg, stamp_to_ns
from av_edge.ros.probe import VehicleProbe
from av_edge.ros.qos import qos_profile
from test.integration.conftest import _node


@pytest.fixture
def planner_node(dds_domain: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    yield from _node("planner_node", dds_domain, tmp_path)


def test_swerves_around_a_car_half_in_the_lane(planner_node, dds_domain):
    probe = VehicleProbe(dds_domain, "planner_probe")
    paths: list[PathMsg] = []
    profiles: list[Float32MultiArray] = []
    node = probe.node
    node.create_subscription(PathMsg, topics.PLANNED_PATH.name, paths.append, qos_profile(topics.PLANNED_PATH.qos))
    node.create_subscription(
        Float32MultiArray, topics.SPEED_PROFILE.name, profiles.append, qos_profile(topics.SPEED_PROFILE.qos)
    )
    objects_pub = node.create_publisher(PointCloud2, topics.OBJECTS.name, qos_profile(topics.OBJECTS.qos))
    points_pub = node.create_publisher(
        PointCloud2, topics.OBSTACLE_POINTS.name, qos_profile(topics.OBSTACLE_POINTS.qos)
    )
    u = np.linspace(-2.25, 2.25, 20)
    car = np.column_stack([u + 40.0, np.full_like(u, -1.9 + 0.9), np.full_like(u, 0.8)]).astype(np.float32)
    parked = np.zeros(1, OBJECT_DTYPE)
    parked[["x", "y", "length", "width", "height"]] = (40.0, -1.9, 4.5, 1.8, 1.5)
    stamps = []
    try:
        deadline = time.monotonic() + 60
        while not paths and time.monotonic() < deadline:
            probe.publish_speed(13.9)
            stamp = probe.now_ns()
            points_pub.publish(cloud_msg(xyz_to_cloud(car), stamp, "base_link"))
            objects_pub.publish(cloud_msg(encode_objects(parked), stamp, "base_link"))
            stamps.append(stamp)
            time.sleep(0.1)
        assert paths, "planner_node published no path"
        path = paths[-1]
        assert stamp_to_ns(path.header.stamp) in stamps and path.header.frame_id == "odom"
        lateral = [p.pose.position.y for p in path.poses]
        assert 0.3 < max(lateral) <= 0.81  # around the car, inside the lane
        deadline = time.monotonic() + 5
        while not profiles and time.monotonic() < deadline:
            time.sleep(0.05)
        labels = [d.label for d in profiles[-1].layout.dim]
        assert labels[1] == "t_s,x_m,y_m,speed_mps,accel_mps2"
        table = np.array(profiles[-1].data).reshape(-1, 5)
        assert table.shape[0] == len(path.poses) and table[-1, 3] > 10.0
    finally:
        probe.close()
