"""Start av_edge on vehicle compute: ``ros2 launch av_edge av_edge.launch.py [with_sim:=true] ...``.

``ros2 launch av_edge av_edge.launch.py --show-args`` lists the arguments; what each does to which
node is ``av_edge.launch_plan`` (tested without ``launch``). Every node gets the shipped Fast DDS
profile unless the environment already names one (your LiDAR driver's launch must set the same
profile). A node that dies is restarted after ``respawn_delay``; while one is down the others report
its topics stale in /diagnostics (the AEB: "no objects" without perception, an ERROR without LiDAR).
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch_ros.actions import Node

from av_edge.launch_plan import ARGUMENTS, plan


def _nodes(context: LaunchContext) -> list[Node]:
    config = os.path.join(get_package_share_directory("av_edge"), "config")
    values = {name: context.launch_configurations.get(name, default) for name, (default, _) in ARGUMENTS.items()}
    return [
        Node(
            package=p.package,
            executable=p.executable,
            name=p.node_name,
            namespace=p.namespace,
            parameters=list(p.parameters),
            remappings=list(p.remappings),
            arguments=list(p.arguments),
            respawn=p.respawn,
            respawn_delay=p.respawn_delay_s,  # a float: Humble's ExecuteProcess takes no substitution here
            output="screen",
        )
        for p in plan(values, config)
    ]


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("av_edge"), "config")
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.path.join(config, "fastdds_large_data.xml")
    return LaunchDescription(
        [
            *(DeclareLaunchArgument(name, default_value=d, description=text) for name, (d, text) in ARGUMENTS.items()),
            SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile),
            OpaqueFunction(function=_nodes),
        ]
    )
