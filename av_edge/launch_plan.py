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
from typing import Any

from av_edge.core.errors import ConfigError

NODES = ("aeb_node", "perception_node", "planner_node", "clip_recorder_node", "adapter_node", "simulator_node")
INPUT_TOPICS = {"lidar_topic": "/sensing/lidar/points", "odometry_topic": "/localization/odometry"}

# name -> (default, description). "" = not set: the params files decide.
ARGUMENTS: dict[str, tuple[str, str]] = {
    "namespace": ("", "ROS namespace of every node (topics are absolute: remap them with the *_topic arguments)"),
    "params_file": ("", "one params file for every node (a section per node name); default: config/<node>.params.yaml"),
    **{
        f"{n.removesuffix('_node')}_params_file": ("", f"{n}'s params file (overrides params_file for it)")
        for n in NODES
    },
    "vehicle": ("", "a params file overlaid on every node's own: this vehicle's dimensions, sensor poses, ids"),
    "use_sim_time": ("false", "true: nodes read /clock (replaying a bag with --clock)"),
    "with_sim": ("false", "also start the simulator (a closed-loop test vehicle); never on a vehicle"),
    "clips": ("true", "record and upload rare-scenario clips"),
    "adapters": ("false", "also publish vision_msgs / Autoware messages (adapter_node; needs those packages)"),
    "detector_model": ("", "camera_detection.model_package: a directory with model.onnx + manifest.yaml"),
    "allow_sim_model": (
        "",
        "true: accept a detection model trained on simulation only (default: with_sim's value; on a vehicle it "
        "is refused and camera detection stays off)",
    ),
    **{arg: (topic, f"the input topic {topic}, remapped for every node") for arg, topic in INPUT_TOPICS.items()},
    "respawn_delay": ("2.0", "seconds before a dead node restarts (the simulator never restarts)"),
}


@dataclass(frozen=True)
class NodePlan:
    executable: str  # also the node's name
    namespace: str
    parameters: tuple[str | dict[str, Any], ...]  # params files in order (later ones win), then overrides
    remappings: tuple[tuple[str, str], ...]
    respawn: bool
    respawn_delay_s: float


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
    vehicle = (_file(args, "vehicle"),) if args["vehicle"] else ()
    started = {
        "clip_recorder_node": _flag(args, "clips"),
        "adapter_node": _flag(args, "adapters"),
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
        if node == "perception_node":
            overrides["camera_detection.allow_simulation_trained"] = allow_sim_model
            if args["detector_model"]:
                overrides["camera_detection.model_package"] = os.path.expanduser(args["detector_model"])
        plans.append(
            NodePlan(
                executable=node,
                namespace=args["namespace"],
                parameters=(params_file, *vehicle, overrides),
                remappings=remappings,
                respawn=node != "simulator_node",  # a restarted scenario would mislead
                respawn_delay_s=respawn_delay,
            )
        )
    return plans
