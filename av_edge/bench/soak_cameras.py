"""Camera load for ``make soak``: N cameras at R Hz (the rig's rendered images, then extra cameras
reusing them), each with its CameraInfo, until SIGINT/SIGTERM. Its own process, so publishing
~200 MB/s of images never delays the LiDAR stamps the latency is measured against."""

from __future__ import annotations

import argparse
import signal
import threading
import time

EXTRA = ("rear", "rear_left", "rear_right", "left", "right", "top", "bottom", "spare")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--domain", type=int, required=True)
    args = parser.parse_args(argv)

    import rclpy
    from sensor_msgs.msg import CameraInfo, Image

    from av_edge import topics
    from av_edge.core.camera import load_rig
    from av_edge.core.image import array_to_image
    from av_edge.paths import config_file
    from av_edge.ros.messages import camera_info_msg, image_msg
    from av_edge.ros.qos import qos_profile
    from av_edge.sim.catalog import find_scenario
    from av_edge.sim.render import NOISE_FRAMES
    from av_edge.sim.simulation import Simulation
    from av_edge.suite.stack import StackConfig

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(domain_id=args.domain)
    node = rclpy.create_node("soak_cameras")
    stack = StackConfig.load()
    rig = load_rig(config_file("vehicle.yaml"))
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    sim = Simulation(stack.sim, scenario, 0, rig)
    # A few frames, each with its own sensor noise, cycled: one frame resent would read as a frozen
    # camera, whose frames perception then keeps from the model (a load the soak must not lose).
    renders = [sim.render(0) for _ in range(NOISE_FRAMES)]
    cameras = [(c, c.name, [array_to_image(r[c.name], "bgr8") for r in renders]) for c in rig]
    for i in range(max(0, args.cameras - len(cameras))):
        camera, _, bodies = cameras[i % len(rig)]
        cameras.append((camera, EXTRA[i % len(EXTRA)], bodies))
    outputs = [
        (
            camera,
            node.create_publisher(Image, topics.CAMERA_IMAGE.format(camera=name), qos_profile(topics.CAMERA_IMAGE.qos)),
            node.create_publisher(
                CameraInfo, topics.CAMERA_INFO.format(camera=name), qos_profile(topics.CAMERA_INFO.qos)
            ),
            bodies,
        )
        for camera, name, bodies in cameras[: args.cameras]
    ]
    period = 1.0 / args.rate
    next_time = time.monotonic()
    frame = 0
    while not stop.is_set():
        stamp = node.get_clock().now().nanoseconds
        frame = (frame + 1) % NOISE_FRAMES
        for camera, image_pub, info_pub, bodies in outputs:
            image_pub.publish(image_msg(bodies[frame], stamp, camera.optical_frame))
            info_pub.publish(camera_info_msg(camera, stamp))
        next_time += period
        stop.wait(max(0.0, next_time - time.monotonic()))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
