"""Every decoder and every handler driven with arbitrary messages (hypothesis): sizes, steps, field
layouts, encodings, NaN/inf/huge values, stamps zero, backwards or far in the future.

The properties: no exception escapes a handler (a node never dies from a message), no brake command
is NaN or positive, and afterwards an in-path wall is still braked for once valid odometry comes.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import AccelStamped, PoseStamped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from av_edge.core.aeb.path import Polyline
from av_edge.core.camera import load_rig
from av_edge.core.errors import MessageError
from av_edge.core.fusion.calibration import intrinsics_from_camera_info
from av_edge.core.image import ENCODINGS, to_bgr8
from av_edge.core.objects import OBJECT_DTYPE, decode_objects
from av_edge.core.pointcloud import array_to_cloud, cloud_to_array, xyz_from_cloud, xyz_to_cloud
from av_edge.paths import config_file
from av_edge.ros.camera_handler import CameraDetectionHandler
from av_edge.ros.fusion_handler import FusionHandler
from av_edge.ros.handlers import AebHandler, PerceptionHandler
from av_edge.ros.messages import cloud_msg, ego_pose, odometry_msg
from av_edge.ros.planner_handler import PlannerHandler
from av_edge.suite.stack import StackConfig

STACK = StackConfig.load()
MS = 1_000_000
EXAMPLES = settings(  # AV_EDGE_FUZZ_EXAMPLES=2000 for a longer hunt than CI's
    max_examples=int(os.environ.get("AV_EDGE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- strategies ------------------------------------------------------------------------------------

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
)
stamps = st.builds(
    Time, sec=st.sampled_from([0, 1, 10, 2**31 - 1]) | st.integers(0, 2**31 - 1), nanosec=st.integers(0, 2**32 - 1)
)
frames = st.sampled_from(["lidar", "base_link", "odom", ""]) | st.text(max_size=8)


def header() -> st.SearchStrategy[Header]:
    return st.builds(Header, stamp=stamps, frame_id=frames)


point_fields = st.builds(
    PointField,
    name=st.sampled_from(["x", "y", "z", "intensity", "vx", "track_id", "class_id", ""]) | st.text(max_size=4),
    offset=st.integers(0, 80),
    datatype=st.integers(0, 9),
    count=st.integers(0, 3),
)


@st.composite
def arbitrary_clouds(draw: st.DrawFn) -> PointCloud2:
    """Any layout at all: the sizes, steps and fields need not agree with each other or the data."""
    msg = PointCloud2(
        header=draw(header()),
        height=draw(st.integers(0, 3)),
        width=draw(st.integers(0, 40)),
        fields=draw(st.lists(point_fields, max_size=6)),
        is_bigendian=draw(st.booleans()),
        point_step=draw(st.integers(0, 80)),
        row_step=draw(st.integers(0, 800)),
        is_dense=draw(st.booleans()),
    )
    msg.data = draw(st.binary(max_size=2000))
    return msg


@st.composite
def xyz_clouds(draw: st.DrawFn) -> PointCloud2:
    """A well-formed xyz cloud whose values are anything (NaN, inf, 1e38)."""
    n = draw(st.integers(0, 60))
    values = draw(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=3 * n, max_size=3 * n))
    xyz = np.asarray(values, np.float32).reshape(n, 3)
    msg = cloud_msg(xyz_to_cloud(xyz), 0, "lidar")
    msg.header = draw(header())
    return msg


@st.composite
def object_lists(draw: st.DrawFn) -> PointCloud2:
    """A well-formed object list (every OBJECT_DTYPE field) with arbitrary values."""
    n = draw(st.integers(0, 6))
    raw = draw(st.binary(min_size=n * OBJECT_DTYPE.itemsize, max_size=n * OBJECT_DTYPE.itemsize))
    objects = np.frombuffer(raw, OBJECT_DTYPE).copy()
    msg = cloud_msg(array_to_cloud(objects), 0, "base_link")
    msg.header = draw(header())
    return msg


clouds = st.one_of(arbitrary_clouds(), xyz_clouds())
objects = st.one_of(arbitrary_clouds(), object_lists())


@st.composite
def odometries(draw: st.DrawFn) -> Odometry:
    msg = Odometry(header=draw(header()), child_frame_id=draw(frames))
    p, q, t = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
    p.x, p.y, p.z = draw(floats), draw(floats), draw(floats)
    q.x, q.y, q.z, q.w = draw(floats), draw(floats), draw(floats), draw(floats)
    t.linear.x, t.angular.z = draw(floats), draw(floats)
    return msg


@st.composite
def images(draw: st.DrawFn) -> Image:
    msg = Image(
        header=draw(header()),
        height=draw(st.integers(0, 6)),
        width=draw(st.integers(0, 6)),
        encoding=draw(st.sampled_from(sorted(ENCODINGS)) | st.text(max_size=6)),
        is_bigendian=draw(st.integers(0, 1)),
        step=draw(st.integers(0, 40)),
    )
    consistent = draw(st.booleans())
    size = msg.step * msg.height if consistent else draw(st.integers(0, 300))
    msg.data = draw(st.binary(min_size=size, max_size=size))
    return msg


@st.composite
def camera_infos(draw: st.DrawFn) -> CameraInfo:
    return CameraInfo(
        header=draw(header()),
        width=draw(st.integers(0, 4000)),
        height=draw(st.integers(0, 4000)),
        k=draw(st.lists(floats, min_size=9, max_size=9)),
    )


@st.composite
def paths(draw: st.DrawFn) -> PathMsg:
    poses = []
    for _ in range(draw(st.integers(0, 8))):
        pose = PoseStamped()
        pose.pose.position.x, pose.pose.position.y = draw(floats), draw(floats)
        poses.append(pose)
    return PathMsg(header=draw(header()), poses=poses)


# --- decoders raise only the project's message errors -----------------------------------------------


def only_message_errors(decode: Any, msg: Any) -> None:
    with contextlib.suppress(MessageError):
        decode(msg)


@EXAMPLES
@given(clouds)
def test_cloud_decoders_raise_only_message_errors(msg: PointCloud2) -> None:
    only_message_errors(xyz_from_cloud, msg)
    only_message_errors(cloud_to_array, msg)
    only_message_errors(decode_objects, msg)


@EXAMPLES
@given(object_lists())
def test_object_lists_decode_or_are_rejected(msg: PointCloud2) -> None:
    only_message_errors(decode_objects, msg)


@EXAMPLES
@given(images())
def test_image_decoder_raises_only_message_errors(msg: Image) -> None:
    only_message_errors(to_bgr8, msg)


@EXAMPLES
@given(camera_infos())
def test_camera_info_decoder_raises_only_message_errors(msg: CameraInfo) -> None:
    only_message_errors(lambda m: intrinsics_from_camera_info(m.k, m.width, m.height, "front"), msg)


@EXAMPLES
@given(odometries())
def test_odometry_decoder_raises_only_message_errors(msg: Odometry) -> None:
    only_message_errors(lambda m: ego_pose(m).check(STACK.aeb.odometry_limits), msg)


# --- handlers: nothing escapes, no NaN or positive command, a wall is still braked for ------------------

Event = tuple[str, Any]
aeb_events = st.lists(
    st.one_of(
        st.tuples(st.just("cloud"), clouds),
        st.tuples(st.just("odometry"), odometries()),
        st.tuples(st.just("objects"), objects),
        st.tuples(st.just("lane"), paths()),
    ),
    min_size=1,
    max_size=8,
)


def wall_scan(gap_m: float, stamp_ns: int) -> PointCloud2:
    """A clear road with a wall ``gap_m`` ahead of the bumper, in the lidar frame."""
    config = STACK.aeb
    mount = np.array([config.lidar_extrinsic.x, config.lidar_extrinsic.y, config.lidar_extrinsic.z])
    rng = np.random.default_rng(0)
    x = config.vehicle.front_overhang_m + gap_m
    wall = np.column_stack([np.full(300, x), rng.uniform(-0.8, 0.8, 300), rng.uniform(0.0, 1.4, 300)])
    angles = np.linspace(-np.pi, np.pi, 720, endpoint=False)
    ground = np.column_stack([10 * np.cos(angles), 10 * np.sin(angles), np.zeros(720)])
    return cloud_msg(xyz_to_cloud((np.vstack([wall, ground]) - mount).astype(np.float32)), stamp_ns, "lidar")


def dispatch(events: list[Event], routes: dict[str, Any], step_ns: int, after: Any = None) -> int:
    """Feed ``events`` to ``routes[kind](msg, now)`` ``step_ns`` apart; ``after(now)`` after each.
    Returns the last ``now``."""
    now = 1_000 * MS
    for kind, msg in events:
        now += step_ns
        routes[kind](msg, now)
        if after is not None:
            after(now)
    return now


def check_command(command: AccelStamped) -> None:
    accel = command.accel.linear.x
    assert math.isfinite(accel) and accel <= 0.0, accel


@EXAMPLES
@given(aeb_events)
def test_aeb_survives_anything_and_still_brakes_for_a_wall(events: list[Event]) -> None:
    handler = AebHandler(STACK.aeb, lambda line: None)

    def between(now: int) -> None:
        command = handler.watchdog(now)
        if command is not None:
            check_command(command)
        handler.events(now)
        handler.diagnostics(now)

    routes = {
        "cloud": lambda msg, now: handler.on_cloud(msg, now, check_command),
        "odometry": handler.on_odometry,
        "objects": lambda msg, now: handler.on_objects(msg, now, check_command),
        "lane": handler.on_lane,
    }
    now = dispatch(events, routes, 50 * MS, between)
    # A lane is trusted like a map (one bending away right ahead would move the corridor off the
    # wall): the property is for the arc, and an empty Path clears whatever lane was accepted.
    handler.on_lane(PathMsg(header=Header(frame_id="odom")), now)
    assert not isinstance(handler.core.path(now), Polyline)
    commands: list[AccelStamped] = []
    speed = 13.89
    for gap in [5.0 + 2 * speed * 0.1, 5.0 + speed * 0.1, 5.0]:  # closing on a wall at 50 km/h
        now += 100 * MS
        handler.on_odometry(odometry_msg(0.0, 0.0, 0.0, speed, 0.0, now), now)
        handler.on_cloud(wall_scan(gap, now), now, commands.append)
    assert commands, "valid scans after garbage must be answered"
    for command in commands:
        check_command(command)
    assert commands[-1].accel.linear.x < 0.0, "an in-path wall 5 m ahead at 50 km/h must be braked for"


perception_events = st.lists(
    st.one_of(st.tuples(st.just("cloud"), clouds), st.tuples(st.just("odometry"), odometries())),
    min_size=1,
    max_size=6,
)


@EXAMPLES
@given(perception_events)
def test_lidar_perception_survives_anything(events: list[Event]) -> None:
    handler = PerceptionHandler(STACK.perception, lambda line: None)
    routes = {"cloud": handler.on_cloud, "odometry": handler.on_odometry}
    now = dispatch(events, routes, 50 * MS, lambda t: (handler.ego_motion(t), handler.diagnostics(t)))
    assert handler.on_cloud(wall_scan(10.0, now + 100 * MS), now + 100 * MS) is not None


planner_events = st.lists(
    st.one_of(
        st.tuples(st.just("odometry"), odometries()),
        st.tuples(st.just("points"), clouds),
        st.tuples(st.just("objects"), objects),
        st.tuples(st.just("reference"), paths()),
    ),
    min_size=1,
    max_size=6,
)


@EXAMPLES
@given(planner_events)
def test_planner_survives_anything(events: list[Event]) -> None:
    handler = PlannerHandler(STACK.planner, lambda line: None)
    routes = {
        "odometry": handler.on_odometry,
        "points": handler.on_obstacle_points,
        "objects": handler.on_objects,
        "reference": handler.on_reference,
    }
    dispatch(events, routes, 120 * MS)


@pytest.fixture(scope="module")
def camera_handler() -> CameraDetectionHandler:
    perception = STACK.perception
    return CameraDetectionHandler(perception.camera_detection, 100.0, lambda line: None, perception.camera_health)


@EXAMPLES
@given(st.lists(images(), min_size=1, max_size=4))
def test_camera_detection_survives_any_image(camera_handler: CameraDetectionHandler, msgs: list[Image]) -> None:
    clock = {"now": 1_000 * MS}
    for msg in msgs:
        clock["now"] += 40 * MS
        camera_handler.on_image("front", msg, clock["now"])
        if camera_handler.due(clock["now"]):
            camera_handler.detect(lambda: clock["now"])
    camera_handler.status(clock["now"])
    camera_handler.camera_statuses(clock["now"])


@pytest.fixture(scope="module")
def fusion_handler() -> FusionHandler:
    rig = {c.name: c for c in load_rig(config_file("vehicle.yaml"))}
    return FusionHandler(STACK.perception.fusion, {"front": rig["front"]}, ("car",), 100.0, lambda line: None)


@EXAMPLES
@given(camera_infos())
def test_fusion_survives_any_camera_info(fusion_handler: FusionHandler, msg: CameraInfo) -> None:
    fusion_handler.calibrations.clear()
    fusion_handler.on_camera_info("front", msg)


@settings(max_examples=60, deadline=None)
@given(xyz_clouds(), object_lists())
def test_the_strategies_reach_the_deep_paths(cloud: PointCloud2, listed: PointCloud2) -> None:
    """Guard against a fuzzer that only ever draws rejects: the well-formed strategies decode."""
    assert xyz_from_cloud(cloud).shape[1] == 3
    with contextlib.suppress(MessageError):  # only the values may be refused, never the layout
        assert decode_objects(listed).dtype == OBJECT_DTYPE
