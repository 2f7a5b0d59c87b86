"""Every launch argument reaches the nodes it names (``av_edge.launch_plan``, what the launch file runs)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from av_edge.core.errors import ConfigError
from av_edge.launch_plan import ARGUMENTS, NODES, NodePlan, plan

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "config")


def by_node(plans: list[NodePlan]) -> dict[str, NodePlan]:
    """av_edge's own nodes (the static transform publishers: see their test)."""
    return {p.executable: p for p in plans if p.package == "av_edge"}


def overrides(p: NodePlan) -> dict[str, object]:
    found = [x for x in p.parameters if isinstance(x, dict)]
    assert len(found) == 1
    return found[0]


def files(p: NodePlan) -> list[str]:
    return [x for x in p.parameters if isinstance(x, str)]


def test_defaults_start_the_vehicle_nodes_with_their_own_params_files() -> None:
    nodes = by_node(plan({}, CONFIG))
    assert set(nodes) == {"aeb_node", "perception_node", "planner_node", "clip_recorder_node"}
    for name, p in nodes.items():
        assert files(p) == [f"{CONFIG}/{name.removesuffix('_node')}.params.yaml"]
        assert p.namespace == "" and p.remappings == () and p.respawn and p.respawn_delay_s == 2.0
        assert overrides(p)["use_sim_time"] is False
    # on a vehicle (no simulator) a simulation-trained detector is refused unless asked for
    assert overrides(nodes["perception_node"])["camera_detection.allow_simulation_trained"] is False


def test_each_argument_reaches_its_nodes(tmp_path: Path) -> None:
    one, vehicle, own = tmp_path / "all.yaml", tmp_path / "vehicle.yaml", tmp_path / "aeb.yaml"
    for f in (one, vehicle, own):
        f.write_text("{}\n")
    model = tmp_path / "model"
    base = by_node(plan({}, CONFIG))
    checks = {
        "namespace": ("/car1", lambda p: p.namespace == "/car1", NODES[:4]),
        "params_file": (str(one), lambda p: files(p) == [str(one)], NODES[:4]),
        "aeb_params_file": (str(own), lambda p: files(p) == [str(own)], ("aeb_node",)),
        "perception_params_file": (str(own), lambda p: files(p) == [str(own)], ("perception_node",)),
        "planner_params_file": (str(own), lambda p: files(p) == [str(own)], ("planner_node",)),
        "clip_recorder_params_file": (str(own), lambda p: files(p) == [str(own)], ("clip_recorder_node",)),
        "vehicle": (
            str(vehicle),
            lambda p: overrides(p).get("vehicle_file") == str(vehicle),
            ("aeb_node", "perception_node", "planner_node"),  # the clip recorder has no geometry
        ),
        "use_sim_time": ("true", lambda p: overrides(p)["use_sim_time"] is True, NODES[:4]),
        "detector_model": (
            str(model),
            lambda p: overrides(p).get("camera_detection.model_package") == str(model),
            ("perception_node",),
        ),
        "allow_sim_model": (
            "true",
            lambda p: overrides(p)["camera_detection.allow_simulation_trained"] is True,
            ("perception_node",),
        ),
        "lidar_topic": (
            "/car/lidar",
            lambda p: p.remappings == (("/sensing/lidar/points", "/car/lidar"),),
            NODES[:4],
        ),
        "odometry_topic": (
            "/car/odom",
            lambda p: p.remappings == (("/localization/odometry", "/car/odom"),),
            NODES[:4],
        ),
        "respawn_delay": ("5.5", lambda p: p.respawn_delay_s == 5.5, NODES[:4]),
    }
    for name, (value, holds, targets) in checks.items():
        nodes = by_node(plan({name: value, "publish_tf": "false"}, CONFIG))  # the tmp files are empty
        for node in targets:
            assert holds(nodes[node]), (name, node, nodes[node])
            assert not holds(base[node]), (name, node, "holds by default too: the check proves nothing")
        for node in set(nodes) - set(targets):
            assert nodes[node] == base[node], (name, node)
    # the two that add or remove a node
    assert "simulator_node" in by_node(plan({"with_sim": "true"}, CONFIG))
    sim = by_node(plan({"with_sim": "true"}, CONFIG))
    assert not sim["simulator_node"].respawn  # a restarted scenario would mislead
    assert overrides(sim["perception_node"])["camera_detection.allow_simulation_trained"] is True
    assert "clip_recorder_node" not in by_node(plan({"clips": "false"}, CONFIG))
    own_sim = by_node(plan({"with_sim": "true", "simulator_params_file": str(own)}, CONFIG))
    assert files(own_sim["simulator_node"]) == [str(own)]
    adapters = by_node(plan({"adapters": "true", "adapter_params_file": str(own)}, CONFIG))
    assert files(adapters["adapter_node"]) == [str(own)] and adapters["adapter_node"].respawn
    assert files(by_node(plan({"adapters": "true"}, CONFIG))["adapter_node"]) == [f"{CONFIG}/adapter.params.yaml"]
    assert not [p for p in plan({"publish_tf": "false"}, CONFIG) if p.package == "tf2_ros"]
    assert "model_updater_node" not in base  # it needs the fleet's trust root: off unless asked for
    updates = by_node(plan({"model_updates": "true", "model_updater_params_file": str(own)}, CONFIG))
    assert files(updates["model_updater_node"]) == [str(own)] and updates["model_updater_node"].respawn
    covered = {*checks, "with_sim", "clips", "simulator_params_file", "adapters", "adapter_params_file", "publish_tf"}
    covered |= {"model_updates", "model_updater_params_file"}
    assert covered == set(ARGUMENTS), set(ARGUMENTS) ^ covered


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"with_sim": "yes"}, "with_sim"),
        ({"use_sim_time": "1"}, "use_sim_time"),
        ({"params_file": "/no/such.yaml"}, "params_file"),
        ({"vehicle": "/no/such.yaml"}, "vehicle"),
        ({"respawn_delay": "soon"}, "respawn_delay"),
        ({"simulator": "true"}, "simulator"),
    ],
)
def test_a_bad_argument_is_refused_by_name(values: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        plan(values, CONFIG)


def test_the_launch_file_declares_every_argument_and_starts_what_the_plan_says() -> None:
    """Without ``launch`` (not on PyPI) the file is read, not run; test_packaging runs it where it exists."""
    source = (ROOT / "launch" / "av_edge.launch.py").read_text()
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"DeclareLaunchArgument", "OpaqueFunction", "Node", "plan"} <= calls
    assert "for name, (d, text) in ARGUMENTS.items()" in source  # every argument declared, with its description
    for keyword in (
        "namespace",
        "parameters",
        "remappings",
        "respawn",
        "respawn_delay",
        "executable",
        "name",
        "package",
        "arguments",
    ):
        assert f"{keyword}=" in source, keyword


def test_static_transforms_place_each_sensor_where_the_params_and_the_rig_say() -> None:
    """Each static_transform_publisher's pose, applied to a point in its sensor frame, lands where the
    AEB's extrinsic (LiDAR) and the rig (cameras) put it in base_link."""
    from scipy.spatial.transform import Rotation

    from av_edge.core.aeb import AebConfig
    from av_edge.core.camera import load_rig
    from av_edge.core.config import build_config
    from av_edge.core.vehicle import load_node_params

    tf = {p.arguments[-1]: p for p in plan({}, CONFIG) if p.package == "tf2_ros"}
    rig = load_rig(ROOT / "config" / "vehicle.yaml")
    assert set(tf) == {"lidar", *(c.optical_frame for c in rig)}

    def pose(frame: str) -> np.ndarray:
        args = dict(zip(tf[frame].arguments[::2], tf[frame].arguments[1::2], strict=True))
        assert args["--frame-id"] == "base_link" and tf[frame].executable == "static_transform_publisher"
        out = np.eye(4)
        out[:3, :3] = Rotation.from_quat([float(args[k]) for k in ("--qx", "--qy", "--qz", "--qw")]).as_matrix()
        out[:3, 3] = [float(args[k]) for k in ("--x", "--y", "--z")]
        return out

    aeb = build_config(AebConfig, load_node_params(ROOT / "config" / "aeb.params.yaml", "aeb_node"))
    point = np.array([1.0, 2.0, 3.0, 1.0])
    np.testing.assert_allclose(pose("lidar") @ point, aeb.lidar_extrinsic.matrix() @ point, atol=1e-6)
    for camera in rig:
        in_optical = camera.optical_from_base() @ point
        np.testing.assert_allclose(pose(camera.optical_frame) @ in_optical, point, atol=1e-6)
