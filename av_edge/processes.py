"""Start av_edge nodes as separate OS processes with the transport profile and an isolated DDS domain.

Used by the demo, the benchmarks and the integration tests; ``ros2 launch`` does the same on a full
ROS 2 install (launch/av_edge.launch.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from av_edge.paths import FASTDDS_PROFILE, config_file

NODES = (
    "aeb_node",
    "perception_node",
    "planner_node",
    "simulator_node",
    "clip_recorder_node",
    "adapter_node",
    "model_updater_node",
)


def dds_environment(domain_id: int | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for av_edge processes: shipped Fast DDS profile, localhost discovery, a domain id.

    An explicit ``FASTDDS_DEFAULT_PROFILES_FILE`` or ``ROS_DOMAIN_ID`` in ``base`` is kept.
    """
    env = dict(os.environ if base is None else base)
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(config_file(FASTDDS_PROFILE)))
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("ROS_LOCALHOST_ONLY", "1")  # Humble's spelling of the same
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(check_domain_id(domain_id))
    env.setdefault("ROS_DOMAIN_ID", str(random_domain_id()))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


#: Domain ids whose DDS ports stay clear of Linux's ephemeral range (ROS 2 docs, "The ROS_DOMAIN_ID");
#: 0 is everyone's default, so it is left out too.
SAFE_DOMAIN_IDS = (*range(1, 102), *range(215, 233))


def random_domain_id() -> int:
    """A safe domain id, away from the default 0 other ROS users share."""
    return random.choice(SAFE_DOMAIN_IDS)


def check_domain_id(domain_id: int) -> int:
    """``domain_id`` when safe, else ValueError naming the safe ranges."""
    if domain_id not in SAFE_DOMAIN_IDS:
        raise ValueError(f"ROS_DOMAIN_ID {domain_id} is not in 1..101 or 215..232 (others collide or are the default)")
    return domain_id


def node_command(
    node: str, params: Sequence[str] = (), params_file: Path | None = None, ros_args: Sequence[str] = ()
) -> list[str]:
    """Command line running ``node`` with its params file from config/, ``name:=value`` overrides and
    then ``ros_args`` (``--ros-args -r from:=to ...``: a later ``--ros-args`` section is ROS's own syntax)."""
    if node not in NODES:
        raise ValueError(f"unknown node '{node}' (known: {', '.join(NODES)})")
    params_file = params_file or config_file(f"{node.removesuffix('_node')}.params.yaml")
    command = [sys.executable, "-m", f"av_edge.nodes.{node}", "--ros-args", "--params-file", str(params_file)]
    for param in params:
        command += ["-p", param]
    if ros_args and ros_args[0] != "--ros-args":
        raise ValueError(f"arguments after the node must start with --ros-args, got {' '.join(ros_args)}")
    return command + list(ros_args)


def start(command: Sequence[str], env: Mapping[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child process
    return subprocess.Popen(list(command), env=dict(env), stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 5.0) -> int:
    """SIGINT (clean rclpy shutdown), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
