"""Start av_edge on vehicle compute: ``ros2 launch av_edge av_edge.launch.py [simulator:=true]``.

Every node gets its params file from config/ and the shipped Fast DDS profile, unless the
environment already names one (your LiDAR driver's launch must set the same profile).
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("av_edge")
    config = os.path.join(share, "config")
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.path.join(config, "fastdds_large_data.xml")

    def node(name: str, condition: str | None = None) -> Node:
        """``name`` with its params file from config/ (``aeb_node`` -> ``aeb.params.yaml``)."""
        return Node(
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
            SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile),
            node("aeb_node"),
            node("perception_node"),
            node("planner_node"),
            node("clip_recorder_node", condition="clips"),
            node("simulator_node", condition="simulator"),
        ]
    )
