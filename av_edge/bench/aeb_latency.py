"""Sensor stamp -> brake command latency across processes over DDS (``aeb_latency_*``)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from av_edge import processes, topics
from av_edge.bench.metrics import Metrics
from av_edge.core.camera import load_rig
from av_edge.core.diagnostics import Status
from av_edge.core.image import array_to_image
from av_edge.core.pointcloud import array_to_cloud
from av_edge.paths import config_file
from av_edge.ros.messages import camera_info_msg, cloud_msg, image_msg, statuses
from av_edge.ros.qos import qos_profile
from av_edge.sim.catalog import find_scenario
from av_edge.sim.simulation import Simulation
from av_edge.suite.stack import StackConfig


def aeb_latency() -> Metrics:
    """With perception_node beside the AEB on the same cores, as deployed (``aeb_latency_*``), and the
    AEB alone (``..._aeb_only``)."""
    shared = replay_latency(("aeb_node", "perception_node"))
    alone = replay_latency(("aeb_node",))
    cameras = replay_latency(("aeb_node", "perception_node"), cameras=True)
    return {
        "aeb_latency_p50_ms_with_cameras": cameras["p50"],
        "aeb_latency_p99_ms_with_cameras": cameras["p99"],
        "aeb_latency_p50_ms": shared["p50"],
        "aeb_latency_p99_ms": shared["p99"],
        "aeb_latency_lost_frames": shared["lost"],
        "aeb_latency_p50_ms_aeb_only": alone["p50"],
        "aeb_latency_p99_ms_aeb_only": alone["p99"],
        "aeb_latency_lost_frames_aeb_only": alone["lost"],
    }


def replay_latency(stack: tuple[str, ...], **options: Any) -> dict[str, float]:
    """p50, p99 and lost frames of :func:`replay_samples` (same options)."""
    return summarize(*replay_samples(stack, **options))


def summarize(latencies: Sequence[float], lost: int) -> dict[str, float]:
    p50, p99 = np.percentile(latencies, [50, 99])
    return {"p50": round(float(p50), 2), "p99": round(float(p99), 2), "lost": float(lost)}


def replay_samples(
    stack: tuple[str, ...],
    frames: int = 200,
    rate_hz: float = 10.0,
    warmup: int = 10,
    node_params: Mapping[str, Sequence[str]] | None = None,
    statuses_out: list[Status] | None = None,
    cameras: bool = False,
    cpus: Mapping[str, str] | None = None,
) -> tuple[list[float], int]:
    """Sensor stamp -> brake command received (ms per answered frame, frames lost), across processes
    over DDS with the shipped profile.

    A probe process replays simulated ~100k-point scans of an approach to a stalled car at real time
    (stamped as it publishes, like a driver) to an ``aeb_node`` process and times each answer.
    The first ``warmup`` frames (discovery still settling) are not counted. ``node_params`` adds
    ``name:=value`` overrides per node; ``statuses_out`` receives the ``/diagnostics`` statuses seen;
    ``cameras`` also publishes an image (and CameraInfo) of every rig camera with each scan, so camera
    detection and fusion run in the perception process meanwhile. ``cpus`` pins nodes to cores
    (``taskset -c`` lists), as an integrator partitions a vehicle computer (systemd ``CPUAffinity=``,
    a launch ``prefix``).
    """
    env = processes.dds_environment()
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"]
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    from av_edge.ros.probe import VehicleProbe

    scans = _approach_scans(count=20)
    with tempfile.TemporaryDirectory() as tmp:
        params, pinned = node_params or {}, cpus or {}

        def command(node: str) -> list[str]:
            pin = ["taskset", "-c", pinned[node]] if node in pinned else []
            return pin + processes.node_command(node, params.get(node, ()))

        nodes = [processes.start(command(n), env, Path(tmp) / f"{n}.log") for n in stack]
        probe = None
        try:
            probe = VehicleProbe(int(env["ROS_DOMAIN_ID"]), "bench_probe")
            if not probe.wait_for_aeb(30.0):
                raise RuntimeError("aeb_node did not come up: " + (Path(tmp) / "aeb_node.log").read_text()[-2000:])
            publish_images = _camera_publisher(probe) if cameras else (lambda stamp: None)
            latencies, lost = [], 0
            period = 1.0 / rate_hz
            next_time = time.monotonic()
            for i in range(warmup + frames):
                probe.publish_speed(13.9)
                stamp = probe.publish_cloud(scans[i % len(scans)])
                publish_images(stamp)
                sample = probe.brake_for(stamp, timeout_s=period * 0.9)
                if i < warmup:
                    pass
                elif sample is None:
                    lost += 1
                else:
                    latencies.append(sample.latency_ms)
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
        finally:
            if probe is not None:
                if statuses_out is not None:
                    statuses_out.extend(st for msg in probe.diagnostics for st in statuses(msg))
                probe.close()
            for node in nodes:
                processes.stop(node)
    return latencies, lost


def _camera_publisher(probe: Any) -> Callable[[int], None]:
    """Publishes one rendered image (+ CameraInfo) per rig camera, stamped like the scan."""
    from sensor_msgs.msg import CameraInfo, Image

    stack = StackConfig.load()
    rig = load_rig(config_file("cameras.yaml"))
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    images = Simulation(stack.sim, scenario, 0, rig).render(0)
    outputs = []
    for camera in rig:
        image_pub = probe.node.create_publisher(
            Image, topics.CAMERA_IMAGE.format(camera=camera.name), qos_profile(topics.CAMERA_IMAGE.qos)
        )
        info_pub = probe.node.create_publisher(
            CameraInfo, topics.CAMERA_INFO.format(camera=camera.name), qos_profile(topics.CAMERA_INFO.qos)
        )
        outputs.append((camera, image_pub, info_pub, array_to_image(images[camera.name], "bgr8")))
    time.sleep(1.0)  # discovery

    def publish(stamp: int) -> None:
        for camera, image_pub, info_pub, body in outputs:
            image_pub.publish(image_msg(body, stamp, camera.optical_frame))
            info_pub.publish(camera_info_msg(camera, stamp))

    return publish


def _approach_scans(count: int) -> list:  # type: ignore[type-arg]
    """``count`` PointCloud2 scans of the 50 km/h stalled-car scenario, 60 m down to 10 m from the car."""
    stack = StackConfig.load()
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    scenario = dataclasses.replace(scenario, actors=(dataclasses.replace(scenario.actors[0], s=65.0),))
    simulation = Simulation(stack.sim, scenario, start_ns=0)
    scans = []
    for x in np.linspace(0.0, 50.0, count):
        simulation.ego.x = float(x)
        scans.append(cloud_msg(array_to_cloud(simulation.capture(0)), 0, stack.lidar_frame))
    return scans
