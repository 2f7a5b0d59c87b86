"""One simulated moment (3 camera images with CameraInfo, a LiDAR scan, odometry) published twice a
second with fresh stamps (and fresh image noise, as a camera's) until SIGTERM; prints the car's
distance ahead first.

Its own process, started with the shipped Fast DDS profile: multi-megabyte best-effort images and
scans from a default-configured participant are lost (README, "DDS transport"), and the pytest
process stays a default participant on purpose.
"""

from __future__ import annotations

import argparse
import signal
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", type=int, required=True)
    parser.add_argument("--ego-x", type=float, default=30.0, help="ego position: closer to the stalled car")
    args = parser.parse_args(argv)

    from sensor_msgs.msg import CameraInfo, Image

    from av_edge import topics
    from av_edge.core.camera import load_rig
    from av_edge.core.image import array_to_image
    from av_edge.core.objects import CLASSES
    from av_edge.core.pointcloud import array_to_cloud
    from av_edge.paths import config_file
    from av_edge.ros.messages import camera_info_msg, cloud_msg, image_msg
    from av_edge.ros.probe import VehicleProbe
    from av_edge.ros.qos import qos_profile
    from av_edge.sim.catalog import find_scenario
    from av_edge.sim.simulation import Simulation
    from av_edge.suite.stack import StackConfig

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = StackConfig.load()
    rig = load_rig(config_file("vehicle.yaml"))
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    sim = Simulation(stack.sim, scenario, 0, rig)
    sim.ego.x = args.ego_x
    sim.advance(0)
    truth = sim.ground_truth(0)
    print(float(truth["x"][truth["class_id"] == CLASSES.index("car")][0]) - sim.state().x, flush=True)
    cloud = cloud_msg(array_to_cloud(sim.capture(0)), 0, stack.lidar_frame)
    probe = VehicleProbe(args.domain, "scene_publisher")
    node = probe.node
    cameras = [
        (
            camera,
            node.create_publisher(
                Image, topics.CAMERA_IMAGE.format(camera=camera.name), qos_profile(topics.CAMERA_IMAGE.qos)
            ),
            node.create_publisher(
                CameraInfo, topics.CAMERA_INFO.format(camera=camera.name), qos_profile(topics.CAMERA_INFO.qos)
            ),
        )
        for camera in rig
    ]
    while not stop.wait(0.5):
        probe.publish_speed(0.0)
        stamp = probe.now_ns()
        images = sim.render(0)  # each frame with its own sensor noise: a resent frame reads as a frozen camera
        for camera, image_pub, info_pub in cameras:
            info_pub.publish(camera_info_msg(camera, stamp))
            image_pub.publish(image_msg(array_to_image(images[camera.name], "bgr8"), stamp, camera.optical_frame))
        probe.publish_cloud(cloud, stamp)
    probe.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
