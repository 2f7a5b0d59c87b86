"""perception_node in its own process: scans in, object list out, over real Fast DDS."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sensor_msgs.msg import PointCloud2

from av_edge.core.objects import decode_objects
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


def test_camera_detections_over_dds(perception_node, probe, dds_domain):
    """A rendered camera image in, a debug image with boxes out (only because we subscribe), and the
    detector's backend and timing in /diagnostics; a corrupted image is rejected and counted."""
    from sensor_msgs.msg import Image

    from av_edge import topics
    from av_edge.core.camera import load_rig
    from av_edge.core.image import array_to_image
    from av_edge.paths import config_file
    from av_edge.ros.messages import image_msg, statuses
    from av_edge.ros.qos import qos_profile
    from av_edge.sim.detection_data import GeneratorSettings, sample

    front = load_rig(config_file("vehicle.yaml"))[0]
    image, _ = sample(front, np.random.default_rng(7), GeneratorSettings(night_fraction=0.0, max_actors=3))
    received: list[Image] = []
    node = probe.node
    node.create_subscription(
        Image,
        topics.DETECTION_IMAGE.format(camera="front"),
        received.append,
        qos_profile(topics.DETECTION_IMAGE.qos),
    )
    publisher = node.create_publisher(
        Image, topics.CAMERA_IMAGE.format(camera="front"), qos_profile(topics.CAMERA_IMAGE.qos)
    )
    bad = image_msg(array_to_image(image, "bgr8"), 0, "front_optical")
    bad.step = 7  # malformed
    import time

    deadline = time.monotonic() + 60
    while not received and time.monotonic() < deadline:
        msg = image_msg(array_to_image(image, "bgr8"), probe.now_ns(), "front_optical")
        publisher.publish(msg)
        publisher.publish(bad)
        time.sleep(0.1)
    assert received, "no debug image came back"
    out = received[-1]
    assert (out.width, out.height, out.encoding, out.header.frame_id) == (640, 480, "bgr8", "front_optical")
    pixels = np.frombuffer(bytes(out.data), np.uint8).reshape(480, 640, 3)
    assert np.count_nonzero(np.any(pixels != image, axis=2)) > 100  # boxes were drawn
    deadline = time.monotonic() + 10
    status = None
    while status is None and time.monotonic() < deadline:
        publisher.publish(bad)
        found = [s for m in probe.diagnostics for s in statuses(m) if s.hardware_id == "camera_detection"]
        ready = (
            found and "detector.infer_ms" in found[-1].values and "rejected.front_malformed_image" in found[-1].values
        )
        status = found[-1] if ready else None
        time.sleep(0.1)
    assert status is not None, "no camera detection diagnostics with the rejected image counted"
    assert status.values["detector.backend"].startswith("onnxruntime")
    assert int(status.values.get("rejected.front_malformed_image", "0")) >= 1


def test_camera_classes_reach_the_object_list(perception_node, probe, dds_domain, tmp_path):
    """The three cameras' images and the LiDAR scan of one simulated moment in, an object list whose
    car carries the class "car" with the cameras' confidence out: detection, calibration from
    CameraInfo, the collector and association working together in the node. The scene comes from a
    process with the shipped DDS profile (see :mod:`test.integration.scene_publisher`)."""
    import time

    from av_edge import processes
    from av_edge.core.objects import CLASSES

    command = [sys.executable, "-m", "test.integration.scene_publisher", "--domain", str(dds_domain)]
    log = tmp_path / "scene_publisher.log"
    publisher = processes.start(command, processes.dds_environment(dds_domain), log)
    classified = None
    try:
        deadline = time.monotonic() + 60
        while classified is None and time.monotonic() < deadline and publisher.poll() is None:
            for msg in probe.take_objects():
                objects = decode_objects(msg)
                cars = objects[(objects["class_id"] == CLASSES.index("car")) & (objects["class_score"] > 0.3)]
                classified = cars if cars.size else classified
            time.sleep(0.05)
    finally:
        processes.stop(publisher)
    output = log.read_text()
    assert classified is not None, f"no object list with a camera-classified car; scene_publisher:\n{output[-2000:]}"
    car_ahead = float(output.splitlines()[0])
    assert classified["x"].min() == pytest.approx(car_ahead, abs=3.0)


def test_empty_images_of_every_encoding_leave_the_node_alive(perception_node, probe):
    """Height 0, width 0 and both, in every supported encoding: each rejected and counted, the node
    keeps running and still answers a LiDAR scan with an object list."""
    import time

    from sensor_msgs.msg import Image

    from av_edge import topics
    from av_edge.core.image import ENCODINGS
    from av_edge.ros.messages import header, statuses
    from av_edge.ros.qos import qos_profile

    publisher = probe.node.create_publisher(
        Image, topics.CAMERA_IMAGE.format(camera="front"), qos_profile(topics.CAMERA_IMAGE.qos)
    )
    deadline = time.monotonic() + 30
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = 0
    for encoding in sorted(ENCODINGS):
        for height, width in ((0, 640), (480, 0), (0, 0)):
            msg = Image(header=header(probe.now_ns(), "front_optical"), height=height, width=width, encoding=encoding)
            msg.step = width * (2 if encoding == "mono16" else 1) * (1 if encoding.startswith("mono") else 3)
            if encoding in ("rgba8", "bgra8"):
                msg.step = width * 4
            for _ in range(2):  # camera QoS is best effort, depth 1: a copy may be dropped, never both
                publisher.publish(msg)
                time.sleep(0.1)
            sent += 1
    rejected = 0
    deadline = time.monotonic() + 15
    while rejected < 2 * sent and time.monotonic() < deadline:
        found = [s for m in probe.diagnostics for s in statuses(m) if s.hardware_id == "camera_detection"]
        if found:
            rejected = int(found[-1].values.get("rejected.front_malformed_image", "0"))
        time.sleep(0.2)
    assert perception_node.poll() is None, "perception_node died on an empty image"
    assert rejected >= sent, f"{rejected} rejections counted for {sent} kinds of empty image (sent twice each)"
    for _ in range(40):
        probe.publish_speed(0.0)
        stamp = probe.publish_cloud(car_rear_cloud(20.0, 0.0))
        if probe.objects_for(stamp, timeout_s=0.5) is not None:
            break
    else:
        pytest.fail("no object list after the empty images")
    assert perception_node.poll() is None
