from dataclasses import dataclass
from pathlib import Path

import pytest

from av_edge.core.aeb import AebConfig
from av_edge.core.config import bounded, build_config, choice, load_params_file
from av_edge.core.errors import ConfigError
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.vehicle import load_node_params
from av_edge.nodes.simulator_node import SimulatorNodeConfig

CONFIG = Path(__file__).resolve().parents[2] / "config"


@dataclass(frozen=True)
class Inner:
    gain: float = bounded(0.0, 1.0)


@dataclass(frozen=True)
class Outer:
    inner: Inner
    name: str
    count: int = bounded(1, 10)
    flags: tuple[float, ...] = bounded(0.0, None)
    mode: str = choice("hold", "brake")


GOOD = {"inner.gain": 0.5, "name": "a", "count": 3, "flags": [1.0, 2], "mode": "hold"}


def test_builds_nested_dataclasses_from_dotted_names():
    config = build_config(Outer, GOOD)
    assert config == Outer(Inner(0.5), "a", 3, (1.0, 2.0), "hold")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inner.gain": None}, "missing parameter 'inner.gain'"),
        ({"extra": 1}, "unknown parameter 'extra'"),
        ({"count": 2.5}, "expected an integer"),
        ({"count": True}, "expected an integer"),
        ({"count": 11}, "must be <= 10"),
        ({"inner.gain": -0.1}, "must be >= 0.0"),
        ({"inner.gain": float("nan")}, "finite"),
        ({"name": ""}, "non-empty string"),
        ({"flags": [1.0, -1.0]}, "must be >= 0.0"),
        ({"flags": 3.0}, "expected a list"),
        ({"mode": "stop"}, "'mode' = 'stop': must be one of 'hold', 'brake'"),
    ],
)
def test_every_problem_is_reported_clearly(change, message):
    params = {**GOOD, **change}
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ConfigError, match="invalid parameters") as err:
        build_config(Outer, params)
    assert message in str(err.value)


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as err:
        build_config(Outer, {"count": 0, "unknown": 1})
    text = str(err.value)
    assert "'inner.gain'" in text and "'name'" in text and "must be >= 1" in text and "'unknown'" in text


def test_ros_builtin_parameters_are_ignored():
    assert build_config(Outer, {**GOOD, "use_sim_time": False}).count == 3


@pytest.mark.parametrize(
    ("file", "node", "cls"),
    [
        ("aeb.params.yaml", "aeb_node", AebConfig),
        ("simulator.params.yaml", "simulator_node", SimulatorNodeConfig),
    ],
)
def test_shipped_params_files_are_valid(file, node, cls):
    build_config(cls, load_node_params(CONFIG / file, node))


def test_params_file_without_node_section(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("other:\n  ros__parameters: {a: 1}\n")
    with pytest.raises(ConfigError, match="no 'aeb_node: ros__parameters:' section"):
        load_params_file(path, "aeb_node")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"brake.partial_trigger_mps2": 7.0},
            "'brake.partial_trigger_mps2' = 7.0, 'brake.full_trigger_mps2' = 6.0: partial braking starts below",
        ),
        ({"brake.warning_ttc_s": 0.2}, "'brake.warning_ttc_s' = 0.2: the warning comes before the brakes could act"),
        ({"motion.min_samples": 5}, "'motion.min_samples' = 5, 'motion.window' = 3: the fit holds"),
    ],
)
def test_cross_field_rules_name_every_key_involved(change, message):
    params = {**load_node_params(CONFIG / "aeb.params.yaml", "aeb_node"), **change}
    with pytest.raises(ConfigError, match=r"invalid aeb\.params\.yaml") as err:
        build_config(AebConfig, params, where="aeb.params.yaml")
    assert message in str(err.value)


def test_shipped_perception_tracker_keeps_its_rules():
    params = load_node_params(CONFIG / "perception.params.yaml", "perception_node")
    params["pipeline.tracker.confirm_hits"] = params["pipeline.tracker.mature_hits"] + 1
    with pytest.raises(ConfigError) as err:
        build_config(PerceptionNodeConfig, params)
    assert "'pipeline.tracker.confirm_hits' = 7, 'pipeline.tracker.mature_hits' = 6" in str(err.value)
