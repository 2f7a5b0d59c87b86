"""aeb_node in its own process over real Fast DDS: interoperability and bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sensor_msgs.msg import PointCloud2, PointField

from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.messages import cloud_msg
from av_edge.ros.probe import VehicleProbe

LIDAR_MOUNT = np.array([1.5, 0.0, 1.9])  # config/aeb.params.yaml
FRONT_BUMPER_X = 3.8


def wall_cloud(gap_m: float, frame: str = "lidar") -> PointCloud2:
    """A small cloud of a car's rear ``gap_m`` ahead of the bumper, in the lidar frame."""
    y, z = np.meshgrid(np.linspace(-0.8, 0.8, 12), np.linspace(0.4, 1.4, 8))
    base = np.column_stack([np.full(y.size, FRONT_BUMPER_X + gap_m), y.ravel(), z.ravel()])
    return cloud_msg(xyz_to_cloud((base - LIDAR_MOUNT).astype(np.float32)), 0, frame)


@pytest.fixture
def probe(dds_domain: int):
    probe = VehicleProbe(dds_domain)
    yield probe
    probe.close()


def drive_until_brake(probe: VehicleProbe, gap_m: float, tries: int = 40):
    """The answer to the last of three scans approaching a standing wall at 10 m/s, ``gap_m`` ahead at
    the last (odometry sent first). The AEB measures an obstacle's speed from its range rate over
    three scans before it counts it as a threat; the stamps are 100 ms apart, like a 10 Hz sensor's."""
    time.sleep(0.25)  # the first stamp below is 200 ms old: never behind an earlier call's last one
    for _ in range(tries):
        probe.publish_speed(10.0)
        time.sleep(0.01)  # odometry and scan travel on separate topics: let the speed land first
        now = probe.now_ns()
        for k in (2, 1):
            probe.publish_cloud(wall_cloud(gap_m + 10.0 * 0.1 * k), stamp_ns=now - k * 100_000_000)
            time.sleep(0.005)
        sample = probe.brake_for(probe.publish_cloud(wall_cloud(gap_m), stamp_ns=now), timeout_s=0.25)
        if sample is not None:
            return sample
    return None


def test_default_participant_receives_brake_commands_from_profiled_node(aeb_node, probe):
    """The probe runs with Fast DDS defaults; aeb_node with config/fastdds_large_data.xml."""
    assert probe.wait_for_aeb(30.0), "aeb_node never matched the probe"
    far = drive_until_brake(probe, gap_m=60.0)
    assert far is not None, "no brake command reached the default participant"
    assert far.accel_mps2 == 0.0
    near = drive_until_brake(probe, gap_m=3.0)
    assert near is not None and near.accel_mps2 < 0.0
    assert near.latency_ms < 1000.0  # answered the scan it was stamped with, not a stale one


def malformed_clouds() -> dict[str, PointCloud2]:
    short = wall_cloud(5.0)
    short.data = bytes(short.data)[:-7]
    no_z = wall_cloud(5.0)
    no_z.fields = [f for f in no_z.fields if f.name != "z"]
    bad_type = wall_cloud(5.0)
    bad_type.fields = [PointField(name=f.name, offset=f.offset, datatype=42, count=1) for f in bad_type.fields]
    return {
        "malformed_cloud": short,
        "missing_field": no_z,
        "wrong_frame": wall_cloud(5.0, frame="camera"),
        "malformed_cloud_datatype": bad_type,
    }


def test_malformed_clouds_are_counted_and_the_node_keeps_running(aeb_node, probe):
    assert probe.wait_for_aeb(30.0)
    assert drive_until_brake(probe, gap_m=60.0) is not None
    for name, msg in malformed_clouds().items():
        stamp = probe.publish_cloud(msg)
        assert probe.brake_for(stamp, timeout_s=0.3) is None, f"{name} was not rejected"
    assert aeb_node.poll() is None, "aeb_node died on malformed input"
    assert drive_until_brake(probe, gap_m=3.0).accel_mps2 < 0.0
    expected = {"rejected.malformed_cloud": "2", "rejected.missing_field": "1", "rejected.wrong_frame": "1"}
    deadline = time.monotonic() + 5.0
    counts: dict[str, str] = {}
    while time.monotonic() < deadline and counts != expected:
        values = probe.latest_diagnostic_values("av_edge: aeb") or {}
        counts = {key: value for key, value in values.items() if key.startswith("rejected.")}
        time.sleep(0.2)
    assert counts == expected
