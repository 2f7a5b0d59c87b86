"""What ``launch/av_edge.launch.py`` starts, as a pure function of its arguments.

The launch file declares :data:`ARGUMENTS`, reads their values at launch time and hands them to
:func:`plan`; it only turns the returned :class:`NodePlan` list into ``launch_ros`` Nodes. So how each
argument reaches its node is tested here without ``launch`` (not on PyPI), and runs unchanged on
Humble, Jazzy and Kilted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from av_edge.core.errors import ConfigError
from av_edge.core.vehicle import DEFAULT_VEHICLE_FILE, VEHICLE_FILE, VEHICLE_NODES, VehicleDescription, load_vehicle

NODES = (
    "aeb_node",
    "perception_node",
    "planner_node",
    "clip_recorder_node",
    "adapter_node",
    "model_updater_node",
    "simulator_node",
)
INPUT_TOPICS = {"lidar_topic": "/sensing/lidar/points", "odometry_topic": "/localization/odometry"}

# name -> (default, description). "" = not set: the params files decide.
ARGUMENTS: dict[str, tuple[str, str]] = {
    "namespace": ("", "ROS namespace of every node (topics are absolute: remap them with the *_topic arguments)"),
    "params_file": ("", "one params file for every node (a section per node name); default: config/<node>.params.yaml"),
    **{
        f"{n.removesuffix('_node')}_params_file": ("", f"{n}'s params file (overrides params_file for it)")
        for n in NODES
    },
    "vehicle": (
        "",
        "this vehicle's description (body, LiDAR and camera poses; default config/vehicle.yaml) for every node",
    ),
    "use_sim_time": ("false", "true: nodes read /clock (replaying a bag with --clock)"),
    "with_sim": ("false", "also start the simulator (a closed-loop test vehicle); never on a vehicle"),
    "clips": ("true", "record and upload rare-scenario clips"),
    "model_updates": (
        "false",
        "run the model updater (model_updater_node; needs the fleet's trust root and repository in its params)",
    ),
    "adapters": ("false", "also publish vision_msgs / Autoware messages (adapter_node; needs those packages)"),
    "detector_model": ("", "camera_detection.model_package: a directory with model.onnx + manifest.yaml"),
    "allow_sim_model": (
        "",
        "true: accept a detection model trained on simulation only (default: with_sim's value; on a vehicle it "
        "is refused and camera detection stays off)",
    ),
    **{arg: (topic, f"the input topic {topic}, remapped for every node") for arg, topic in INPUT_TOPICS.items()},
    "respawn_delay": ("2.0", "seconds before a dead node restarts (the simulator never restarts)"),
    "publish_tf": (
        "true",
        "static transforms base_link -> lidar and -> each camera's optical frame, from the AEB's params and the rig "
        "(false where the vehicle's robot_state_publisher does it)",
    ),
}


@dataclass(frozen=True)
class NodePlan:
    executable: str
    namespace: str
    parameters: tuple[str | dict[str, Any], ...]  # params files in order (later ones win), then overrides
    remappings: tuple[tuple[str, str], ...]
    respawn: bool
    respawn_delay_s: float
    package: str = "av_edge"
    name: str = ""  # default: the executable's
    arguments: tuple[str, ...] = ()

    @property
    def node_name(self) -> str:
        return self.name or self.executable


def static_transforms(vehicle: VehicleDescription, namespace: str) -> list[NodePlan]:
    """``tf2_ros`` static_transform_publisher per sensor of the vehicle description: base_link -> its
    LiDAR and -> each camera's optical frame, so RViz, Foxglove and downstream stacks place every display."""
    poses = {vehicle.lidar.frame: vehicle.lidar.extrinsic.matrix()}
    for camera in vehicle.cameras:
        poses[camera.optical_frame] = np.linalg.inv(camera.optical_from_base())
    plans = []
    for frame, pose in poses.items():
        q = Rotation.from_matrix(pose[:3, :3]).as_quat()  # x, y, z, w
        numbers = {
            "--x": pose[0, 3],
            "--y": pose[1, 3],
            "--z": pose[2, 3],
            "--qx": q[0],
            "--qy": q[1],
            "--qz": q[2],
            "--qw": q[3],
        }
        arguments = [item for k, v in numbers.items() for item in (k, f"{float(v):.9g}")]
        arguments += ["--frame-id", "base_link", "--child-frame-id", frame]
        plans.append(
            NodePlan(
                executable="static_transform_publisher",
                namespace=namespace,
                parameters=(),
                remappings=(),
                respawn=True,
                respawn_delay_s=2.0,
                package="tf2_ros",
                name=f"tf_base_link_to_{frame}",
                arguments=tuple(arguments),
            )
        )
    return plans


def _flag(args: Mapping[str, str], name: str) -> bool:
    value = args[name].strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"launch argument {name}:={args[name]!r}: expected true or false")
    return value == "true"


def _file(args: Mapping[str, str], name: str) -> str:
    path = os.path.expanduser(args[name])
    if not os.path.isfile(path):
        raise ConfigError(f"launch argument {name}:={args[name]!r}: no such file")
    return path


def plan(values: Mapping[str, str], config_dir: str) -> list[NodePlan]:
    """The nodes to start for launch argument ``values`` (missing ones take their defaults)."""
    unknown = sorted(set(values) - set(ARGUMENTS))
    if unknown:
        raise ConfigError(f"unknown launch arguments {unknown} (known: {', '.join(ARGUMENTS)})")
    args = {name: values.get(name, default) for name, (default, _) in ARGUMENTS.items()}
    with_sim = _flag(args, "with_sim")
    allow_sim_model = _flag(args, "allow_sim_model") if args["allow_sim_model"] else with_sim
    try:
        respawn_delay = float(args["respawn_delay"])
    except ValueError:
        raise ConfigError(f"launch argument respawn_delay:={args['respawn_delay']!r}: expected seconds") from None
    remappings = tuple((INPUT_TOPICS[a], args[a]) for a in INPUT_TOPICS if args[a] != INPUT_TOPICS[a])
    vehicle_file = _file(args, "vehicle") if args["vehicle"] else os.path.join(config_dir, DEFAULT_VEHICLE_FILE)
    started = {
        "clip_recorder_node": _flag(args, "clips"),
        "adapter_node": _flag(args, "adapters"),
        "model_updater_node": _flag(args, "model_updates"),
        "simulator_node": with_sim,
    }
    plans = []
    for node in NODES:
        if not started.get(node, True):
            continue
        own = f"{node.removesuffix('_node')}_params_file"
        if args[own]:
            params_file = _file(args, own)
        elif args["params_file"]:
            params_file = _file(args, "params_file")
        else:
            params_file = os.path.join(config_dir, f"{node.removesuffix('_node')}.params.yaml")
        overrides: dict[str, Any] = {"use_sim_time": _flag(args, "use_sim_time")}
        if args["vehicle"] and node in VEHICLE_NODES:
            overrides[VEHICLE_FILE] = vehicle_file
        if node == "perception_node":
            overrides["camera_detection.allow_simulation_trained"] = allow_sim_model
            if args["detector_model"]:
                overrides["camera_detection.model_package"] = os.path.expanduser(args["detector_model"])
        plans.append(
            NodePlan(
                executable=node,
                namespace=args["namespace"],
                parameters=(params_file, overrides),
                remappings=remappings,
                respawn=node != "simulator_node",  # a restarted scenario would mislead
                respawn_delay_s=respawn_delay,
            )
        )
    if _flag(args, "publish_tf"):
        plans += static_transforms(load_vehicle(Path(vehicle_file)), args["namespace"])
    return plans
