"""Every launch argument reaches the nodes it names (``av_edge.launch_plan``, what the launch file runs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from av_edge.core.errors import ConfigError
from av_edge.launch_plan import ARGUMENTS, NODES, NodePlan, plan

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "config")


def by_node(plans: list[NodePlan]) -> dict[str, NodePlan]:
    return {p.executable: p for p in plans}


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
        "vehicle": (str(vehicle), lambda p: files(p)[-1] == str(vehicle) and len(files(p)) == 2, NODES[:4]),
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
        nodes = by_node(plan({name: value}, CONFIG))
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
    covered = {*checks, "with_sim", "clips", "simulator_params_file", "adapters", "adapter_params_file"}
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
    for keyword in ("namespace", "parameters", "remappings", "respawn", "respawn_delay", "executable", "name"):
        assert f"{keyword}=" in source, keyword
