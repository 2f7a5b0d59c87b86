"""Typed, validated configuration built from flat ROS parameter dictionaries.

The params YAML in ``config/`` is the single source of truth: config dataclasses carry no defaults,
so a missing key fails at startup. Nested dataclasses map to dotted parameter names
(``extrinsic.x``), exactly as ROS 2 flattens nested YAML.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from av_edge.core.errors import ConfigError

T = TypeVar("T")

#: Parameters rclpy declares on every node; they are not part of av_edge configs.
ROS_BUILTIN_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})


def bounded(lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """Dataclass field with an inclusive valid range, checked by :func:`build_config`."""
    return dataclasses.field(metadata={"min": lo, "max": hi, "doc": doc})


def described(doc: str) -> Any:
    """Dataclass field (no range: text, flags, lists) with its description for the parameter reference."""
    return dataclasses.field(metadata={"doc": doc})


def choice(*allowed: str, doc: str = "") -> Any:
    """Dataclass field holding one of ``allowed`` strings, checked by :func:`build_config`."""
    return dataclasses.field(metadata={"choices": allowed, "doc": doc})


@dataclass(frozen=True)
class Rule:
    """A rule between fields of one config dataclass (``RULES`` on it), checked by :func:`build_config`:
    ``holds`` gets the values of ``keys`` (dotted below that dataclass) in order."""

    keys: tuple[str, ...]
    holds: Callable[..., bool]
    why: str
    relation: str  # how the parameter reference writes it between the keys ("<", "<=")


def below(a: str, b: str, why: str, strict: bool = True) -> Rule:
    """``a`` < ``b`` (``<=`` unless ``strict``)."""
    return Rule((a, b), operator.lt if strict else operator.le, why, "<" if strict else "<=")


def config_rules(cls: type, prefix: str = "") -> typing.Iterator[tuple[str, Rule]]:
    """(prefix, rule) for every cross-field rule of the config dataclass ``cls`` and those below it."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            yield from config_rules(typing.cast(type, hints[field.name]), f"{prefix}{field.name}.")
    for rule in getattr(cls, "RULES", ()):
        yield prefix, rule


def build_config(cls: type[T], params: Mapping[str, Any], *, where: str = "parameters") -> T:
    """Build the frozen dataclass ``cls`` from flat ``params``; raise one ConfigError naming every problem."""
    problems: list[str] = []
    config = _build(cls, dict(params), "", problems)
    known = set(_flat_names(cls, ""))
    unknown = sorted(set(params) - known - ROS_BUILTIN_PARAMETERS)
    problems.extend(f"unknown parameter '{name}'" for name in unknown)
    if problems:
        raise ConfigError(f"invalid {where}:\n  - " + "\n  - ".join(problems))
    return typing.cast(T, config)


def load_params_file(path: str | Path, node_name: str) -> dict[str, Any]:
    """Read the ``node_name: ros__parameters:`` section of a ROS 2 params file as flat dotted keys."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read params file {path}: {err}") from None
    try:
        section = document[node_name]["ros__parameters"]
    except (KeyError, TypeError):
        raise ConfigError(f"{path}: no '{node_name}: ros__parameters:' section") from None
    return dict(_flatten(section, ""))


def _flatten(tree: Mapping[str, Any], prefix: str) -> typing.Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """One leaf of a config schema, as ROS 2 names it (dotted) and documents it."""

    name: str
    kind: str  # the Python type's name: float, int, bool, str, list
    minimum: float | None
    maximum: float | None
    doc: str
    choices: tuple[str, ...] = ()


def parameter_specs(cls: type, prefix: str = "") -> typing.Iterator[ParameterSpec]:
    """Every leaf field of the config dataclass ``cls``, depth first in declaration order."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        if dataclasses.is_dataclass(kind):
            yield from parameter_specs(typing.cast(type, kind), f"{prefix}{field.name}.")
            continue
        name = getattr(kind, "__name__", None) if typing.get_origin(kind) is None else "list"
        meta = field.metadata
        yield ParameterSpec(
            f"{prefix}{field.name}",
            name or str(kind),
            meta.get("min"),
            meta.get("max"),
            meta.get("doc", ""),
            tuple(meta.get("choices", ())),
        )


def _flat_names(cls: type, prefix: str) -> typing.Iterator[str]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        if dataclasses.is_dataclass(kind):
            yield from _flat_names(typing.cast(type, kind), f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}"


def _build(cls: type, params: dict[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name, kind = f"{prefix}{field.name}", hints[field.name]
        if dataclasses.is_dataclass(kind):
            values[field.name] = _build(typing.cast(type, kind), params, f"{name}.", problems)
            continue
        if name not in params:
            problems.append(f"missing parameter '{name}'")
            continue
        value, problem = _coerce(params[name], kind)
        if problem is None:
            problem = _range_problem(value, field.metadata)
        if problem is not None:
            problems.append(f"'{name}' = {params[name]!r}: {problem}")
        values[field.name] = value
    if problems:
        return None
    config = cls(**values)
    for rule in getattr(cls, "RULES", ()):
        found = [functools.reduce(getattr, key.split("."), config) for key in rule.keys]
        if not rule.holds(*found):
            named = ", ".join(f"'{prefix}{key}' = {value!r}" for key, value in zip(rule.keys, found, strict=True))
            problems.append(f"{named}: {rule.why}")
    return None if problems else config


def _coerce(value: Any, kind: Any) -> tuple[Any, str | None]:
    origin = typing.get_origin(kind)
    if origin in (list, tuple):
        (item_kind, *_) = typing.get_args(kind)
        if not isinstance(value, (list, tuple)):
            return value, f"expected a list of {item_kind.__name__}"
        items = [_coerce(item, item_kind) for item in value]
        bad = next((problem for _, problem in items if problem), None)
        return tuple(item for item, _ in items), bad
    if kind is bool:
        return value, None if isinstance(value, bool) else "expected true or false"
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value, None if ok else "expected an integer"
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, "expected a number"
        return float(value), None if math.isfinite(value) else "expected a finite number"
    if kind is str:
        return value, None if isinstance(value, str) and value else "expected a non-empty string"
    raise TypeError(f"unsupported config field type {kind!r}")


def _range_problem(value: Any, metadata: Mapping[str, Any]) -> str | None:
    allowed = metadata.get("choices")
    if allowed is not None and value not in allowed:
        return "must be one of " + ", ".join(repr(a) for a in allowed)
    lo, hi = metadata.get("min"), metadata.get("max")
    for item in value if isinstance(value, tuple) else (value,):
        if lo is not None and item < lo:
            return f"must be >= {lo}"
        if hi is not None and item > hi:
            return f"must be <= {hi}"
    return None
