"""perception_node in its own process: scans in, object list out, over real Fast DDS."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import PointCloud2

from av_edge.core.perception.objects import decode_objects
from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.messages import cloud_msg
from av_edge.ros.probe import VehicleProbe
from test.integration.test_dds_aeb import LIDAR_MOUNT


@pytest.fixture
def probe(dds_domain: int):
    probe = VehicleProbe(dds_domain)
    yield probe
    probe.close()


def car_rear_cloud(gap_x: float, lateral: float) -> PointCloud2:
    y, z = np.meshgrid(np.linspace(lateral - 0.9, lateral + 0.9, 30), np.linspace(0.3, 1.5, 10))
    car = np.column_stack([np.full(y.size, gap_x), y.ravel(), z.ravel()])
    gx, gy = np.meshgrid(np.linspace(5, 40, 60), np.linspace(-8, 8, 30))
    ground = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    return cloud_msg(xyz_to_cloud((np.vstack([car, ground]) - LIDAR_MOUNT).astype(np.float32)), 0, "lidar")


def test_objects_are_published_for_each_scan(perception_node, probe):
    objects = None
    for _ in range(60):
        probe.publish_speed(0.0)
        stamp = probe.publish_cloud(car_rear_cloud(20.0, 1.0))
        msg = probe.objects_for(stamp, timeout_s=0.5)
        if msg is not None:
            objects = decode_objects(msg)
            break
    assert objects is not None, "perception_node published no object list"
    assert objects.size == 1
    assert objects["x"][0] == pytest.approx(20.0, abs=0.2)
    assert objects["y"][0] == pytest.approx(1.0, abs=0.2)
    assert objects["track_id"][0] >= 1
