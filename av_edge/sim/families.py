"""Scenario families: catalog-style templates whose parameters are drawn at random.

A family file (``config/scenarios/families/*.yaml``) has the catalog's ``category`` and
``expected``, a ``weight`` (its share of a mixed draw), ``main`` (the parameter its pass map plots
against ego speed), ``sample`` (one distribution per parameter), ``derive`` (parameters computed
from others with plain arithmetic) and ``scenario``, a catalog entry whose ``{name}`` fields take
the drawn values. ``robustness.yaml`` beside them holds the layer drawn for every run of every family
(sensor noise, dropout, rain returns, ego offset and speed jitter, actor size); a family may pin any
of its keys under ``robustness``.

Distributions: ``{uniform: [lo, hi]}`` (a tenth of the draws at each end, so the edges are always
covered), ``{choice: [...]}``, ``{int: [lo, hi]}`` (inclusive); anything else is a constant.
Run ``i`` of family ``F`` under seed ``S`` draws from its own generator (seeded with S, F's name and
i), so it is reproducible alone and whatever else is drawn.
"""

from __future__ import annotations

import ast
import operator
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from av_edge.core.errors import ConfigError
from av_edge.sim.scenario import CATEGORIES, EXPECTED, EgoGeometry, Scenario, _substitute, build

EDGE_SHARE = 0.1  # of uniform draws at each end of the range
ROBUSTNESS_FILE = "robustness.yaml"
KNOWN_FAILURES_FILE = "known_failures.yaml"


@dataclass(frozen=True)
class Family:
    name: str
    category: str
    expected: str
    weight: float
    main: str
    sample: Mapping[str, Any]
    derive: Mapping[str, str]
    scenario: Mapping[str, Any]
    robustness: Mapping[str, Any]


@dataclass(frozen=True)
class Draw:
    """One random run: where it came from, what was drawn, and the catalog entry it expands to."""

    family: str
    seed: int
    index: int
    values: dict[str, Any]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.family}_s{self.seed}_i{self.index}"


def load_families(directory: Path) -> tuple[list[Family], Mapping[str, Any]]:
    """Every family in ``directory`` (sorted by name) and the robustness layer."""
    families = []
    robustness_path = directory / ROBUSTNESS_FILE
    robustness = _load(robustness_path).get("robustness", {}) if robustness_path.exists() else {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (ROBUSTNESS_FILE, KNOWN_FAILURES_FILE):
            continue
        doc = _load(path)
        try:
            family = Family(
                name=str(doc["family"]),
                category=str(doc["category"]),
                expected=str(doc["expected"]),
                weight=float(doc.get("weight", 1.0)),
                main=str(doc["main"]),
                sample=dict(doc["sample"]),
                derive=dict(doc.get("derive") or {}),
                scenario=dict(doc["scenario"]),
                robustness={**robustness, **(doc.get("robustness") or {})},
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{path}: missing or malformed key {err}") from None
        if family.category not in CATEGORIES or family.expected not in EXPECTED:
            raise ConfigError(f"{path}: category must be one of {CATEGORIES}, expected one of {EXPECTED}")
        if family.main not in family.sample and family.main not in family.derive:
            raise ConfigError(f"{path}: main '{family.main}' is neither sampled nor derived")
        families.append(family)
    names = [f.name for f in families]
    if len(set(names)) != len(names):
        raise ConfigError(f"{directory}: duplicate family names")
    return families, robustness


def load_known_failures(directory: Path) -> dict[str, str]:
    """Families failing today, each with its reason (the random suite's ratchet)."""
    path = directory / KNOWN_FAILURES_FILE
    if not path.exists():
        return {}
    known = _load(path).get("known_failures") or {}
    if not isinstance(known, dict) or not all(isinstance(v, str) and v for v in known.values()):
        raise ConfigError(f"{path}: known_failures must map each family name to its reason")
    return known


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: {err}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping")
    return doc


def allocate(families: list[Family], runs: int) -> list[tuple[Family, int]]:
    """(family, index) for ``runs`` runs shared by weight (largest remainders), family by family."""
    weights = np.array([f.weight for f in families], dtype=float)
    share = weights / weights.sum() * runs
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: runs - counts.sum()]:
        counts[i] += 1
    return [(f, i) for f, n in zip(families, counts, strict=True) for i in range(int(n))]


def draw(family: Family, seed: int, index: int) -> Draw:
    """Run ``index`` of ``family`` under ``seed``: the drawn values and the expanded catalog entry."""
    rng = np.random.default_rng([seed, zlib.crc32(family.name.encode()), index])
    values = {key: _draw_value(spec, rng, f"{family.name}.sample.{key}") for key, spec in family.sample.items()}
    layer = {key: _draw_value(spec, rng, f"{family.name}.robustness.{key}") for key, spec in family.robustness.items()}
    if "ego_kmh" in values:  # speed jitter: before anything is derived from the ego's speed
        values["ego_kmh"] = max(float(values["ego_kmh"]) + float(layer.get("ego_kmh_jitter", 0.0)), 5.0)
    for key, expression in family.derive.items():
        values[key] = evaluate(expression, values, f"{family.name}.derive.{key}")
    spec = _substitute(dict(family.scenario), values)
    spec["name"] = Draw(family.name, seed, index, {}, {}).name
    for key in ("lidar_noise_m", "lidar_dropout", "lidar_clutter", "ego_d"):
        if key in layer and key not in spec:
            spec[key] = float(layer[key])
    scale = float(layer.get("actor_scale", 1.0))
    spec["actors"] = [
        a if {"scale", "length_m", "width_m", "height_m"} & set(a) else {**a, "scale": scale}
        for a in spec.get("actors", [])
    ]
    spec["seed"] = int(rng.integers(1 << 31))
    values = {k: _plain(v) for k, v in {**values, **{f"robustness.{k}": v for k, v in layer.items()}}.items()}
    return Draw(family.name, seed, index, values, _plain(spec))


def scenario(family: Family, d: Draw, ego: EgoGeometry) -> Scenario:
    try:
        return build(d.spec, family.category, family.expected, ego)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"family {family.name}, run {d.index}: {err}") from None


def catalog_document(family: Family, d: Draw) -> dict[str, Any]:
    """The run as a catalog file (``config/scenarios/*.yaml`` format): a permanent regression scenario."""
    return {"category": family.category, "expected": family.expected, "scenarios": [d.spec]}


def _draw_value(spec: Any, rng: np.random.Generator, where: str) -> Any:
    if not isinstance(spec, dict) or len(spec) != 1:
        return spec
    ((kind, arg),) = spec.items()
    if kind == "uniform":
        lo, hi = float(arg[0]), float(arg[1])
        u = rng.random()
        if u < EDGE_SHARE:
            return lo
        if u > 1 - EDGE_SHARE:
            return hi
        return round(float(rng.uniform(lo, hi)), 3)
    if kind == "choice":
        return arg[int(rng.integers(len(arg)))]
    if kind == "int":
        return int(rng.integers(int(arg[0]), int(arg[1]) + 1))
    raise ConfigError(f"{where}: unknown distribution '{kind}' (uniform, choice, int)")


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.Lt: operator.lt,
    ast.Gt: operator.gt,
    ast.Eq: operator.eq,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs}


def evaluate(expression: str, values: Mapping[str, Any], where: str = "expression") -> Any:
    """Plain arithmetic over drawn values (+ - * / **, min, max, abs, ``a if cond else b``); nothing else."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPERATORS:
            return _OPERATORS[type(node.ops[0])](walk(node.left), walk(node.comparators[0]))
        if isinstance(node, ast.IfExp):
            return walk(node.body) if walk(node.test) else walk(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
            return _FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise ConfigError(f"{where}: '{expression}' is not plain arithmetic over known values ({ast.dump(node)})")

    try:
        tree = ast.parse(str(expression), mode="eval")
    except SyntaxError as err:
        raise ConfigError(f"{where}: '{expression}': {err.msg}") from None
    result = walk(tree)
    return round(result, 4) if isinstance(result, float) else result


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so the spec dumps as plain YAML/JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
