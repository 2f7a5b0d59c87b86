"""``av-edge run aeb --ros-args -r from:=to`` reaches the node: it subscribes to the remapped topic."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import rclpy
from rclpy.context import Context

from av_edge import processes, topics

REMAPPED = "/vehicle_x/lidar/points"


def subscribers(node: rclpy.node.Node, topic: str) -> set[str]:
    return {info.node_name for info in node.get_subscriptions_info_by_topic(topic)}


def test_av_edge_run_passes_ros_args_to_the_node(dds_domain: int, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "av_edge.cli", "run", "aeb", "--ros-args", "-r"]
    command.append(f"{topics.LIDAR_POINTS.name}:={REMAPPED}")
    log = tmp_path / "aeb.log"
    process = processes.start(command, processes.dds_environment(dds_domain), log)
    context = Context()
    rclpy.init(context=context, domain_id=dds_domain)
    node = rclpy.create_node("remap_check", context=context)
    try:
        deadline = time.monotonic() + 60.0
        while "aeb_node" not in subscribers(node, REMAPPED) and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        assert "aeb_node" in subscribers(node, REMAPPED), log.read_text()[-3000:]
        assert "aeb_node" not in subscribers(node, topics.LIDAR_POINTS.name)
        assert "aeb_node" in subscribers(node, topics.ODOMETRY.name)  # the rest as configured
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
        processes.stop(process)
