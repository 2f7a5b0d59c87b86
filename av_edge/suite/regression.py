"""Per-process regression replay (openpilot's process_replay, for av_edge): each node's handlers run
in-process over a bag's recorded inputs, and their outputs are compared with the recorded ones.

A :class:`Process` says what one node consumes, what it produces, which fields are never compared
and the float tolerance. Messages are matched per topic by header stamp (and order within a stamp);
object lists are compared object by object and field by field (``objects[3].vx``), other messages
leaf by leaf. Inputs of one log time are handed over together, so a scan meets the odometry and the
camera images of its moment as it does in the node. Perception replays what ``perception_node``
publishes: the LiDAR list fused with the cameras' detections (with no camera in the bag, the same
fusion with none).

Reference bags in ``test/data/replay`` come from the simulator (:func:`write_reference`, ``av-edge
regress --write-reference``); when a change is meant to alter outputs, rewrite them in the same commit.
Their brake commands are logged at the run's measured latency, so a rewrite changes the file's bytes
even where no output changes.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from geometry_msgs.msg import AccelStamped

from av_edge import topics
from av_edge.core.camera import CameraConfig, load_rig
from av_edge.core.objects import decode_objects
from av_edge.paths import config_file
from av_edge.ros.fusion_handler import ScanObjects
from av_edge.ros.handlers import AebHandler, PerceptionHandler
from av_edge.ros.messages import stamp_to_ns
from av_edge.suite.bag import BagError, BagRecorder, bag_topics, read_bag
from av_edge.suite.full_stack import CameraStack
from av_edge.suite.stack import StackConfig

Log = Callable[[str], None]
Message = tuple[str, Any]  # (topic, message)
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "test/data/replay"


class Replayer(Protocol):
    def step(self, log_ns: int, inputs: Sequence[Message]) -> list[Message]:
        """The inputs of one log time, in recorded order; returns what the node published."""
        ...


@dataclass(frozen=True)
class Process:
    name: str
    inputs: tuple[str, ...]  # topic names; {camera} matches any camera
    outputs: tuple[str, ...]
    ignore: frozenset[str]  # field paths never compared
    tolerance: float  # floats compare within it
    start: Callable[[StackConfig, frozenset[str], Log], Replayer]

    def takes(self, topic: str) -> bool:
        return any(_matches(pattern, topic) for pattern in self.inputs)


@dataclass(frozen=True)
class Difference:
    topic: str
    index: int  # the message's place among the topic's recorded messages
    stamp_ns: int
    field: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        where = f"{self.topic} #{self.index} @ {self.stamp_ns / 1e9:.3f} s"
        return f"{where}: {self.field}: expected {self.expected!r}, got {self.actual!r}"


class _Aeb:
    """``aeb_node``: lane, odometry, scans and object lists in; brake commands out."""

    def __init__(self, stack: StackConfig, bag: frozenset[str], log: Log) -> None:
        self.handler = AebHandler(stack.aeb, log)

    def step(self, log_ns: int, inputs: Sequence[Message]) -> list[Message]:
        commands: list[AccelStamped] = []
        for topic, msg in inputs:
            if topic == topics.REFERENCE_PATH.name:
                self.handler.on_lane(msg, log_ns)
            elif topic == topics.ODOMETRY.name:
                self.handler.on_odometry(msg, log_ns)
            elif topic == topics.LIDAR_POINTS.name:
                self.handler.on_cloud(msg, log_ns, commands.append)
            elif topic == topics.OBJECTS.name:
                self.handler.on_objects(msg, log_ns, commands.append)
            elif topic == topics.CAMERA_HEALTH.name:
                self.handler.on_camera_health(msg, log_ns)
        return [(topics.BRAKE_COMMAND.name, command) for command in commands]


class _Perception:
    """``perception_node``: odometry, scans and the cameras' images in; the fused object list out."""

    def __init__(self, stack: StackConfig, bag: frozenset[str], log: Log) -> None:
        self.handler = PerceptionHandler(stack.perception, log)
        rig = load_rig(config_file("vehicle.yaml"))
        cameras: list[CameraConfig] = [c for c in rig if topics.CAMERA_IMAGE.format(camera=c.name) in bag]
        self.cameras = CameraStack(stack.perception, cameras, log)
        self.names = {topics.CAMERA_IMAGE.format(camera=c.name): c.name for c in cameras}

    def step(self, log_ns: int, inputs: Sequence[Message]) -> list[Message]:
        cloud = None
        images = {}
        for topic, msg in inputs:
            if topic == topics.ODOMETRY.name:
                self.handler.on_odometry(msg, log_ns)
            elif topic == topics.LIDAR_POINTS.name:
                cloud = msg
            elif topic in self.names:
                images[self.names[topic]] = msg
        self.cameras.on_images(images, log_ns)
        if cloud is None:
            return []
        output = self.handler.on_cloud(cloud, log_ns)
        if output is None:
            return []
        scan = ScanObjects(log_ns, output.frame.objects, self.handler.ego_motion(log_ns))
        return [(topics.OBJECTS.name, objects) for objects in self.cameras.fuse(scan, 0.0, log_ns)]


PROCESSES = {
    "aeb": Process(
        "aeb",
        inputs=(
            topics.REFERENCE_PATH.name,
            topics.ODOMETRY.name,
            topics.LIDAR_POINTS.name,
            topics.OBJECTS.name,
            topics.CAMERA_HEALTH.name,
        ),
        outputs=(topics.BRAKE_COMMAND.name,),
        ignore=frozenset(),  # no field of a brake command depends on wall-clock time
        tolerance=1e-6,
        start=_Aeb,
    ),
    "perception": Process(
        "perception",
        inputs=(topics.ODOMETRY.name, topics.LIDAR_POINTS.name, topics.CAMERA_IMAGE.name),
        outputs=(topics.OBJECTS.name,),
        ignore=frozenset(),  # object lists carry no wall-clock time
        tolerance=1e-5,  # float32 fields
        start=_Perception,
    ),
}


def run(
    bag: Path, stack: StackConfig, processes: Iterable[str] | None = None, log: Log | None = None
) -> list[Difference]:
    """Differences between the bag's recorded outputs and a fresh run of each process (by default
    every process whose outputs the bag holds)."""
    present = frozenset(bag_topics(bag))
    chosen = [PROCESSES[name] for name in processes] if processes else list(PROCESSES.values())
    chosen = [p for p in chosen if present & set(p.outputs)]
    if not chosen:
        wanted = sorted({t for p in PROCESSES.values() for t in p.outputs})
        raise BagError(f"{bag} holds no recorded {' or '.join(wanted)}: nothing to compare")
    differences: list[Difference] = []
    for process in chosen:
        differences += _replay(bag, process, stack, present, log or (lambda line: None))
    return differences


def _replay(bag: Path, process: Process, stack: StackConfig, present: frozenset[str], log: Log) -> list[Difference]:
    replayer = process.start(stack, present, log)
    recorded: dict[str, list[Any]] = defaultdict(list)
    produced: dict[str, list[Any]] = defaultdict(list)
    for log_ns, moment in _moments(read_bag(bag)):
        for topic, msg in moment:
            if topic in process.outputs:
                recorded[topic].append(msg)
        for topic, msg in replayer.step(log_ns, [(t, m) for t, m in moment if process.takes(t)]):
            produced[topic].append(msg)
    differences: list[Difference] = []
    for topic in process.outputs:
        if topic in present:
            differences += _compare_topic(topic, recorded[topic], produced[topic], process)
    return differences


def _moments(messages: Iterator[tuple[str, int, Any]]) -> Iterator[tuple[int, list[Message]]]:
    """Messages grouped by log time, in recorded order."""
    moment: list[Message] = []
    current: int | None = None
    for topic, log_ns, msg in messages:
        if current is not None and log_ns != current:
            yield current, moment
            moment = []
        current = log_ns
        moment.append((topic, msg))
    if current is not None:
        yield current, moment


def _compare_topic(topic: str, recorded: list[Any], produced: list[Any], process: Process) -> list[Difference]:
    def keyed(messages: list[Any]) -> dict[tuple[int, int], tuple[int, Any]]:
        seen: dict[int, int] = defaultdict(int)
        out = {}
        for index, msg in enumerate(messages):
            stamp = stamp_to_ns(msg.header.stamp)
            out[(stamp, seen[stamp])] = (index, msg)
            seen[stamp] += 1
        return out

    want, got = keyed(recorded), keyed(produced)
    out = []
    for key in sorted(set(want) | set(got)):
        stamp = key[0]
        if key not in got:
            out.append(Difference(topic, want[key][0], stamp, "<message>", "recorded", "missing in the new run"))
        elif key not in want:
            out.append(Difference(topic, -1, stamp, "<message>", "not recorded", "new in this run"))
        else:
            index = want[key][0]
            for path, a, b in compare(topic, want[key][1], got[key][1], process.tolerance, process.ignore):
                out.append(Difference(topic, index, stamp, path, a, b))
    return out


def compare(
    topic: str, expected: Any, actual: Any, tolerance: float, ignore: frozenset[str]
) -> list[tuple[str, Any, Any]]:
    """(field path, expected, actual) of every field that differs; object lists object by object
    (``ignore`` names a message field by its path, an object field as ``objects.<name>``)."""
    body: tuple[str, ...] = ()
    out = []
    if topic == topics.OBJECTS.name:
        body = ("data", "width", "row_step")  # the objects themselves, compared below
        a, b = decode_objects(expected), decode_objects(actual)
        if a.size != b.size:
            out.append(("objects.count", a.size, b.size))
        else:
            for name in a.dtype.names or ():
                if f"objects.{name}" in ignore:
                    continue
                for i, (x, y) in enumerate(zip(a[name].tolist(), b[name].tolist(), strict=True)):
                    if not _equal(x, y, tolerance):
                        out.append((f"objects[{i}].{name}", x, y))
    want, got = dict(flatten(expected)), dict(flatten(actual))
    for path in sorted(set(want) | set(got)):
        x, y = want.get(path), got.get(path)
        if path not in ignore and not path.startswith(body) and not _equal(x, y, tolerance):
            out.append((path, _short(x), _short(y)))
    return sorted(out, key=lambda d: d[0])


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


def _equal(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance
    if isinstance(a, (bytes, bytearray)) or hasattr(a, "typecode") or isinstance(a, np.ndarray):
        return bytes(a) == bytes(b)
    return bool(a == b)


def _short(value: Any) -> Any:
    """A value for display: a long array as its size and CRC-32 (the comparison uses every byte)."""
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "typecode") or isinstance(value, np.ndarray):
        data = bytes(value)
        return data if len(data) <= 16 else f"<{len(data)} bytes, crc32 {zlib.crc32(data):08x}>"
    return value


def _matches(pattern: str, topic: str) -> bool:
    if "{" not in pattern:
        return pattern == topic
    head, _, rest = pattern.partition("{")
    tail = rest.partition("}")[2]
    return topic.startswith(head) and topic.endswith(tail) and len(topic) > len(head) + len(tail)


# -- reference bags -----------------------------------------------------------------------------

#: A sparse LiDAR keeps reference bags small (~1.5 MB); replay does not need the vehicle's resolution.
REFERENCE_BEAMS, REFERENCE_COLUMNS = 16, 480
REFERENCE_SCENARIOS = {
    # a walker crossing 14 m ahead of a 30 km/h ego, a stopped car beyond: tracking, a crossing
    # prediction and the AEB's escalation within 1.5 s
    "crossing_before_stopped_car": {
        "category": "pedestrian",
        "expected": "no_contact",
        "scenarios": [
            {
                "name": "reference_crossing_before_stopped_car",
                "ego_kmh": 30.0,
                "duration_s": 1.5,
                "seed": 7,
                "actors": [
                    {
                        "kind": "pedestrian",
                        "gap_m": 14.0,
                        "cross_from_d": -3.0,
                        "cross_to_d": 3.0,
                        "cross_speed_kmh": 6.0,
                        "cross_early_s": 0.5,
                    },
                    {"kind": "car", "gap_m": 30.0},
                ],
            }
        ],
    },
}


def write_reference(directory: Path = REFERENCE_DIR) -> list[Path]:
    """Record the reference bags (simulator, lock-step, the shipped params with a sparse LiDAR)."""
    from av_edge.sim.catalog import ego_geometry
    from av_edge.sim.scenario import expand_file
    from av_edge.suite.lockstep import run_lockstep

    stack = reference_stack()
    written = []
    for name, document in REFERENCE_SCENARIOS.items():
        (scenario,) = expand_file(document, ego_geometry(stack.sim))
        path = directory / name
        shutil.rmtree(path, ignore_errors=True)
        with BagRecorder(path) as recorder:
            run_lockstep(scenario, stack, recorder)
        written.append(path)
    return written


def reference_stack() -> StackConfig:
    stack = StackConfig.load()
    lidar = dataclasses.replace(stack.sim.lidar, n_beams=REFERENCE_BEAMS, n_azimuth=REFERENCE_COLUMNS)
    return dataclasses.replace(stack, sim=dataclasses.replace(stack.sim, lidar=lidar))


def main(bag: Path, processes: Sequence[str] = ()) -> int:
    differences = run(bag, StackConfig.load(), processes or None)
    for difference in differences[:50]:
        print(difference)
    print(f"regress: {len(differences)} differences against {bag}")
    return 1 if differences else 0
