"""The vehicle: its body and sensor poses from ``config/vehicle.yaml``, and what each node takes from it.

One description, read by every node and the simulator: :func:`vehicle_params` maps it onto the keys
each node's schema has (the AEB's ``vehicle.width_m``, perception's self-crop, the planner's
footprint, the simulator's car and LiDAR mount), so a params file never repeats a vehicle number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from av_edge.core.camera import CameraConfig, load_rig
from av_edge.core.config import bounded, build_config, described, load_params_file
from av_edge.core.errors import ConfigError
from av_edge.core.geometry import Extrinsic

VEHICLE_NODES = ("aeb_node", "perception_node", "planner_node", "simulator_node")  # the ones with geometry
VEHICLE_FILE = "vehicle_file"  # the params-file key naming it; relative: beside the params file (config/)
DEFAULT_VEHICLE_FILE = "vehicle.yaml"


@dataclass(frozen=True)
class VehicleConfig:
    width_m: float = bounded(0.5, 4.0, "body width")
    front_overhang_m: float = bounded(0.0, 20.0, "base_link (rear axle) to front bumper")
    height_m: float = bounded(0.5, 5.0, "roof height above ground")


@dataclass(frozen=True)
class BodyConfig:
    width_m: float = bounded(0.5, 4.0, "m, body width")
    front_overhang_m: float = bounded(0.0, 20.0, "m, base_link (rear axle) to front bumper")
    rear_overhang_m: float = bounded(0.0, 10.0, "m, base_link (rear axle) to rear bumper")
    height_m: float = bounded(0.5, 5.0, "m, roof height above ground")
    self_crop_margin_m: float = bounded(0.0, 1.0, "m; LiDAR returns this close to the body are the ego's own")


@dataclass(frozen=True)
class LidarMountConfig:
    extrinsic: Extrinsic
    frame: str = described("frame_id of its scans")


@dataclass(frozen=True)
class VehicleDescription:
    body: BodyConfig
    lidar: LidarMountConfig
    cameras: tuple[CameraConfig, ...]
    path: Path


def load_vehicle(path: Path) -> VehicleDescription:
    """``path`` checked: every field in range, cameras unique; ConfigError naming the file and key."""
    try:
        document = yaml.safe_load(path.read_text())
        body, lidar = document["body"], document["lidar"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise ConfigError(f"vehicle description {path}: {err}") from None
    flat = {f"body.{k}": v for k, v in body.items()}
    flat["lidar.frame"] = lidar.get("frame")
    flat.update({f"lidar.extrinsic.{k}": v for k, v in (lidar.get("extrinsic") or {}).items()})
    parts = build_config(_Parts, flat, where=f"vehicle description {path}")
    return VehicleDescription(parts.body, parts.lidar, load_rig(path), path)


@dataclass(frozen=True)
class _Parts:
    body: BodyConfig
    lidar: LidarMountConfig


def _extrinsic(prefix: str, e: Extrinsic) -> dict[str, float]:
    return {f"{prefix}.{k}": getattr(e, k) for k in ("x", "y", "z", "roll", "pitch", "yaw")}


def vehicle_params(vehicle: VehicleDescription, node: str) -> dict[str, Any]:
    """The flat parameters ``node`` takes from the vehicle (none for a node that needs no geometry)."""
    b, lidar = vehicle.body, vehicle.lidar
    if node == "aeb_node":
        return {
            "vehicle.width_m": b.width_m,
            "vehicle.front_overhang_m": b.front_overhang_m,
            "vehicle.height_m": b.height_m,
            "lidar_frame": lidar.frame,
            **_extrinsic("lidar_extrinsic", lidar.extrinsic),
        }
    if node == "perception_node":
        m = b.self_crop_margin_m
        return {
            "pipeline.lidar_frame": lidar.frame,
            **_extrinsic("pipeline.lidar_extrinsic", lidar.extrinsic),
            "pipeline.self_crop.x_min_m": -(b.rear_overhang_m + m),
            "pipeline.self_crop.x_max_m": b.front_overhang_m + m,
            "pipeline.self_crop.half_width_m": b.width_m / 2 + m,
        }
    if node == "planner_node":
        return {
            "planner.vehicle_width_m": b.width_m,
            "planner.vehicle_front_m": b.front_overhang_m,
            "planner.vehicle_rear_m": b.rear_overhang_m,
        }
    if node == "simulator_node":
        return {
            "lidar_frame": lidar.frame,
            "sim.vehicle.width_m": b.width_m,
            "sim.vehicle.front_overhang_m": b.front_overhang_m,
            "sim.vehicle.height_m": b.height_m,
            "sim.rear_overhang_m": b.rear_overhang_m,
            **_extrinsic("sim.lidar.extrinsic", lidar.extrinsic),
        }
    return {}


def vehicle_path(params: dict[str, Any], directory: Path) -> Path:
    """The vehicle file ``params`` name (``vehicle_file``; default vehicle.yaml), relative to ``directory``."""
    name = str(params.get(VEHICLE_FILE) or DEFAULT_VEHICLE_FILE)
    path = Path(name).expanduser()
    return path if path.is_absolute() else directory / path


def with_vehicle(params: dict[str, Any], node: str, directory: Path) -> tuple[dict[str, Any], VehicleDescription]:
    """``params`` (a node's, flat) with what it takes from its vehicle file, and that vehicle.

    ConfigError when the params set a key the vehicle owns: one number in two files is how a car
    ends up braking for its own bumper."""
    vehicle = load_vehicle(vehicle_path(params, directory))
    derived = vehicle_params(vehicle, node)
    doubled = sorted(set(derived) & set(params))
    if doubled:
        raise ConfigError(
            f"parameters {doubled} of {node} come from the vehicle description {vehicle.path}: remove them "
            "from the params file (or point vehicle_file at another vehicle)"
        )
    merged = {k: v for k, v in params.items() if k != VEHICLE_FILE} | derived
    return merged, vehicle


def load_node_params(path: Path, node: str) -> dict[str, Any]:
    """A node's flat parameters from its params file, with its vehicle's (see :func:`with_vehicle`)."""
    params = load_params_file(path, node)
    return with_vehicle(params, node, path.parent)[0] if node in VEHICLE_NODES else params
