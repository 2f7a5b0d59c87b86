"""One vehicle description: a single edit reaches the AEB, perception, the planner, the simulator and
/tf_static; a params file that repeats a vehicle number is refused."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from av_edge.core.aeb import AebConfig
from av_edge.core.config import build_config
from av_edge.core.errors import ConfigError
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.planning.node_config import PlannerNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.launch_plan import plan
from av_edge.nodes.simulator_node import SimulatorNodeConfig

CONFIG = Path(__file__).resolve().parents[1] / "config"
SCHEMAS = {
    "aeb_node": AebConfig,
    "perception_node": PerceptionNodeConfig,
    "planner_node": PlannerNodeConfig,
    "simulator_node": SimulatorNodeConfig,
}


def configs(directory: Path) -> dict[str, Any]:
    return {
        node: build_config(cls, load_node_params(directory / f"{node.removesuffix('_node')}.params.yaml", node))
        for node, cls in SCHEMAS.items()
    }


def lidar_x(plans: list[Any]) -> float:
    (tf,) = [p for p in plans if p.package == "tf2_ros" and p.arguments[-1] == "lidar"]
    return float(tf.arguments[tf.arguments.index("--x") + 1])


def test_one_edit_of_the_vehicle_reaches_every_node_and_the_transforms(tmp_path: Path) -> None:
    edited = tmp_path / "config"
    shutil.copytree(CONFIG, edited)
    document = yaml.safe_load((edited / "vehicle.yaml").read_text())
    document["body"]["width_m"] = 2.3  # a van
    document["lidar"]["extrinsic"]["x"] = 2.0
    (edited / "vehicle.yaml").write_text(yaml.safe_dump(document))

    before, after = configs(CONFIG), configs(edited)
    assert (before["aeb_node"].vehicle.width_m, after["aeb_node"].vehicle.width_m) == (1.9, 2.3)  # corridor
    crop = before["perception_node"].pipeline.self_crop, after["perception_node"].pipeline.self_crop
    assert crop[1].half_width_m - crop[0].half_width_m == pytest.approx(0.2)  # self-crop
    assert after["planner_node"].planner.vehicle_width_m == 2.3  # footprint
    assert after["simulator_node"].sim.vehicle.width_m == 2.3  # the simulated car
    assert after["aeb_node"].lidar_extrinsic.x == after["perception_node"].pipeline.lidar_extrinsic.x == 2.0
    assert after["simulator_node"].sim.lidar.extrinsic.x == 2.0
    assert lidar_x(plan({}, str(CONFIG))) == 1.5
    assert lidar_x(plan({"vehicle": str(edited / "vehicle.yaml")}, str(CONFIG))) == 2.0  # /tf_static
    for p in plan({"vehicle": str(edited / "vehicle.yaml")}, str(CONFIG)):
        if p.executable in SCHEMAS:  # and every node that has geometry is pointed at it
            assert next(x for x in p.parameters if isinstance(x, dict))["vehicle_file"] == str(edited / "vehicle.yaml")
    np.testing.assert_allclose(before["aeb_node"].lidar_extrinsic.matrix()[:3, 3], np.array([1.5, 0.0, 1.9]))


def test_a_params_file_repeating_a_vehicle_number_is_refused(tmp_path: Path) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    aeb = tmp_path / "config" / "aeb.params.yaml"
    aeb.write_text(
        aeb.read_text().replace(
            "    vehicle_file: vehicle.yaml", "    vehicle_file: vehicle.yaml\n    vehicle: {width_m: 1.7}"
        )
    )
    with pytest.raises(ConfigError, match=r"\['vehicle.width_m'\] of aeb_node come from the vehicle description"):
        load_node_params(aeb, "aeb_node")


def test_a_broken_vehicle_file_is_named(tmp_path: Path) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    (tmp_path / "config" / "vehicle.yaml").write_text("body: {width_m: 9.0}\nlidar: {frame: lidar}\ncameras: []\n")
    with pytest.raises(ConfigError, match=r"vehicle\.yaml"):
        load_node_params(tmp_path / "config" / "aeb.params.yaml", "aeb_node")
