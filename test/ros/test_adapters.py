"""Standard messages built from the object list: vision_msgs and Autoware's (skipped, naming the
package, where it is not installed: they are on every distro's apt, not on PyPI)."""

from __future__ import annotations

import importlib.util
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

from av_edge import processes
from av_edge.core.errors import ConfigError
from av_edge.core.objects import OBJECT_DTYPE
from av_edge.core.standard_objects import StandardObject, TrackUuids, longitudinal_request, standard_objects
from av_edge.ros import adapters


def needs(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        apt = f"ros-<distro>-{package.replace('_', '-')}"
        pytest.skip(f"{package} is not installed (not on PyPI; apt: {apt})")


def sample() -> list[StandardObject]:
    objects = np.zeros(2, OBJECT_DTYPE)
    objects[0] = (12.0, 0.5, 0.75, 4.5, 1.8, 1.5, 0.0, 8.0, 0.0, 1, 0.9, 7, -2.0, 0.0, 0.8)  # braking car
    objects[1] = (20.0, -4.0, 0.9, 0.6, 0.6, 1.8, math.pi / 2, 0.0, 1.4, 3, 0.5, 0, 0.0, 0.0, 0.0, 0.0)  # new walker
    numbers = itertools.count(1)
    return standard_objects(objects, TrackUuids(2.0, new=lambda: next(numbers).to_bytes(16, "big")), 0)


def test_a_missing_message_package_is_named_with_its_apt_package() -> None:
    with pytest.raises(ConfigError, match=r"no_such_msgs is not installed \(apt: ros-<distro>-no-such-msgs\)"):
        adapters.messages("no_such_msgs")


def test_vision_msgs_detection_3d_array() -> None:
    needs("vision_msgs")
    msg = adapters.detection_3d_array(sample(), 5_000_000_123, "base_link")
    assert msg.header.frame_id == "base_link" and msg.header.stamp.nanosec == 123 and len(msg.detections) == 2
    car = msg.detections[0]
    assert car.results[0].hypothesis.class_id == "car" and car.results[0].hypothesis.score == pytest.approx(0.8)
    assert (car.bbox.size.x, car.bbox.center.position.x) == pytest.approx((4.5, 12.0)) and len(car.id) == 32


def test_autoware_detected_tracked_and_predicted_objects() -> None:
    needs("autoware_perception_msgs")
    needs("unique_identifier_msgs")
    detected = adapters.detected_objects(sample(), 0, "base_link")
    car, walker = detected.objects
    assert [c.label for c in car.classification] == [1] and [c.label for c in walker.classification] == [7]
    assert car.kinematics.has_twist and not walker.kinematics.has_twist and not car.kinematics.has_position_covariance
    assert walker.kinematics.twist_with_covariance.twist.linear.x == pytest.approx(1.4)  # object frame
    tracked = adapters.tracked_objects(sample(), 0, "base_link")
    assert len(tracked.objects) == 1 and list(tracked.objects[0].object_id.uuid) == [0] * 15 + [1]
    assert tracked.objects[0].kinematics.acceleration_with_covariance.accel.linear.x == pytest.approx(-2.0)
    predicted = adapters.predicted_objects(sample(), 0, "base_link", 3.0, 0.5)
    (path,) = predicted.objects[0].kinematics.predicted_paths
    assert len(path.path) == 7 and path.time_step.nanosec == 500_000_000
    assert path.path[-1].position.x == pytest.approx(12.0 + 15.0)  # 8 m/s braking at 2 m/s^2: 15 m in 3 s


def test_autoware_longitudinal() -> None:
    needs("autoware_control_msgs")
    request = longitudinal_request(-6.0, 2_000_000_000)
    assert request is not None
    msg = adapters.longitudinal(request)
    assert (msg.acceleration, msg.velocity, msg.is_defined_acceleration, msg.stamp.sec) == (-6.0, 0.0, True, 2)


def test_adapter_node_refuses_to_start_naming_the_missing_package() -> None:
    if importlib.util.find_spec("vision_msgs") is not None:
        pytest.skip("vision_msgs is installed here: the node starts (see the tests above)")
    result = subprocess.run(
        processes.node_command("adapter_node"),
        env=processes.dds_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "vision_msgs is not installed" in out and "ros-<distro>-vision-msgs" in out, out


def test_the_adapter_runs_as_its_own_module() -> None:
    """What ``ros2 run av_edge adapter_node`` executes imports without the optional packages."""
    subprocess.run([sys.executable, "-c", "import av_edge.nodes.adapter_node"], check=True, timeout=60)


def test_autoware_trajectory() -> None:
    needs("autoware_planning_msgs")
    from av_edge.core.standard_objects import trajectory_values

    profile = np.array([[0.0, 0.0, 0.0, 10.0, -2.0], [0.5, 5.0, 0.0, 9.0, -2.0], [1.0, 9.5, 0.0, 8.0, -2.0]])
    msg = adapters.trajectory(trajectory_values(profile), 3_000_000_000, "odom")
    assert msg.header.frame_id == "odom" and len(msg.points) == 3
    assert msg.points[1].time_from_start.nanosec == 500_000_000 and msg.points[2].pose.position.x == 9.5
    assert msg.points[0].longitudinal_velocity_mps == 10.0 and msg.points[0].acceleration_mps2 == -2.0
