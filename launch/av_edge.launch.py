"""Start av_edge on vehicle compute: ``ros2 launch av_edge av_edge.launch.py [simulator:=true]``.

Every node gets its params file from config/ and the shipped Fast DDS profile, unless the
environment already names one (your LiDAR driver's launch must set the same profile). A node that
dies is restarted after ``RESPAWN_DELAY_S``; while one is down the others report its topics
stale in /diagnostics (the AEB: "no objects" without perception, an ERROR without LiDAR).
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

RESPAWN_DELAY_S = 2.0


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("av_edge")
    config = os.path.join(share, "config")
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.path.join(config, "fastdds_large_data.xml")

    def node(name: str, condition: str | None = None, respawn: bool = True) -> Node:
        """``name`` with its params file from config/ (``aeb_node`` -> ``aeb.params.yaml``)."""
        return Node(
            respawn=respawn,
            respawn_delay=RESPAWN_DELAY_S,  # a float: Humble's ExecuteProcess takes no substitution here
            package="av_edge",
            executable=name,
            name=name,
            parameters=[os.path.join(config, f"{name.removesuffix('_node')}.params.yaml")],
            output="screen",
            condition=IfCondition(LaunchConfiguration(condition)) if condition else None,
        )

    return LaunchDescription(
        [
            DeclareLaunchArgument("simulator", default_value="false", description="also start the simulator"),
            DeclareLaunchArgument("clips", default_value="true", description="record and upload rare-scenario clips"),
            DeclareLaunchArgument(
                "respawn_delay", default_value="2.0", description="seconds before a dead node restarts"
            ),
            SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile),
            node("aeb_node"),
            node("perception_node"),
            node("planner_node"),
            node("clip_recorder_node", condition="clips"),
            node("simulator_node", condition="simulator", respawn=False),  # a restarted scenario would mislead
        ]
    )
