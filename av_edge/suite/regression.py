"""Regression replay (openpilot's process_replay, for av_edge): run the node handlers over a bag's
recorded inputs in-process and compare their outputs with the bag's, field by field.

Only timing-dependent fields are ignored; floats compare within a tolerance. A change that alters
any decision shows up as a difference with its topic, stamp and field path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from geometry_msgs.msg import AccelStamped

from av_edge import topics
from av_edge.ros.handlers import AebHandler, PerceptionHandler
from av_edge.ros.messages import stamp_to_ns
from av_edge.suite.bag import BagError, read_bag
from av_edge.suite.stack import StackConfig

INPUTS = {topics.LIDAR_POINTS.name, topics.ODOMETRY.name}
IGNORE: frozenset[str] = frozenset()  # no output field of these nodes depends on wall-clock time


@dataclass(frozen=True)
class Difference:
    topic: str
    stamp_ns: int
    field: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return (
            f"{self.topic} @ {self.stamp_ns / 1e9:.3f} s: {self.field}: expected {self.expected!r}, got {self.actual!r}"
        )


def flatten(msg: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted field path, value) for every leaf of a ROS message; arrays stay whole."""
    fields = getattr(msg, "get_fields_and_field_types", None)
    if fields is None:
        yield prefix.rstrip("."), msg
        return
    for name in fields():
        value = getattr(msg, name)
        if isinstance(value, (list, tuple)) and value and hasattr(value[0], "get_fields_and_field_types"):
            for i, item in enumerate(value):
                yield from flatten(item, f"{prefix}{name}[{i}].")
        else:
            yield from flatten(value, f"{prefix}{name}.")


def compare(topic: str, expected: Any, actual: Any, tolerance: float, ignore: frozenset[str]) -> list[Difference]:
    stamp = stamp_to_ns(expected.header.stamp)
    want, got = dict(flatten(expected)), dict(flatten(actual))
    out = []
    for path in sorted(set(want) | set(got)):
        if path in ignore:
            continue
        a, b = want.get(path), got.get(path)
        if not _equal(a, b, tolerance):
            out.append(Difference(topic, stamp, path, _short(a), _short(b)))
    return out


def _equal(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance
    if isinstance(a, (bytes, bytearray)) or hasattr(a, "typecode") or isinstance(a, np.ndarray):
        return bytes(a) == bytes(b)
    return bool(a == b)


def _short(value: Any) -> Any:
    return (
        f"<{len(value)} bytes>"
        if hasattr(value, "__len__") and not isinstance(value, str) and len(value) > 16
        else value
    )


def run(bag: Path, stack: StackConfig, tolerance: float = 1e-6, ignore: frozenset[str] = IGNORE) -> list[Difference]:
    """Differences between the bag's recorded brake commands and object lists and a fresh run."""
    log: list[str] = []
    aeb = AebHandler(stack.aeb, log.append)
    perception = PerceptionHandler(stack.perception, log.append)
    produced: dict[tuple[str, int], Any] = {}
    recorded: dict[tuple[str, int], Any] = {}

    def keep_command(command: AccelStamped) -> None:
        produced[(topics.BRAKE_COMMAND.name, stamp_to_ns(command.header.stamp))] = command

    for topic, log_ns, msg in read_bag(bag):
        if topic == topics.ODOMETRY.name:
            aeb.on_odometry(msg, log_ns)
            perception.on_odometry(msg, log_ns)
        elif topic == topics.LIDAR_POINTS.name:
            aeb.on_cloud(msg, log_ns, keep_command)
            output = perception.on_cloud(msg, log_ns)
            if output is not None:
                produced[(topics.OBJECTS.name, stamp_to_ns(output.objects.header.stamp))] = output.objects
        elif topic == topics.OBJECTS.name:
            aeb.on_objects(msg, log_ns, keep_command)  # as recorded: what the AEB saw then
            recorded[(topic, stamp_to_ns(msg.header.stamp))] = msg
        elif topic == topics.BRAKE_COMMAND.name:
            recorded[(topic, stamp_to_ns(msg.header.stamp))] = msg
    if not recorded:
        raise BagError(
            f"{bag} holds no recorded {topics.BRAKE_COMMAND.name} or {topics.OBJECTS.name}: nothing to compare"
        )
    differences: list[Difference] = []
    for key in sorted(set(recorded) | set(produced)):
        topic, stamp = key
        if key not in produced or key not in recorded:
            which = "missing in the new run" if key not in produced else "not in the recording"
            differences.append(Difference(topic, stamp, "<message>", which, ""))
            continue
        differences += compare(topic, recorded[key], produced[key], tolerance, ignore)
    return differences


def main(bag: Path) -> int:
    differences = run(bag, StackConfig.load())
    for difference in differences[:50]:
        print(difference)
    print(f"regress: {len(differences)} differences against {bag}")
    return 1 if differences else 0
