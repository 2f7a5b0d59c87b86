"""Per-process replay: record a lock-step run to rosbag2, replay each node's handlers over it, catch a
changed threshold by topic, message index and field; the reference bags in the repo replay clean."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from av_edge import topics
from av_edge.suite.bag import BagRecorder, read_bag
from av_edge.suite.lockstep import run_lockstep
from av_edge.suite.regression import PROCESSES, REFERENCE_DIR, REFERENCE_SCENARIOS, run
from av_edge.suite.stack import StackConfig
from test.sim.test_scenario import BY_NAME

STACK = StackConfig.load()


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bags") / "lead_stopped_30kmh"
    with BagRecorder(path) as recorder:
        run_lockstep(BY_NAME["lead_stopped_30kmh_100pct"], STACK, recorder)
    return path


def test_recording_holds_every_input_and_output(bag: Path) -> None:
    seen = {topic for topic, _, _ in read_bag(bag)}
    assert seen == {
        topics.LIDAR_POINTS.name,
        topics.ODOMETRY.name,
        topics.BRAKE_COMMAND.name,
        topics.OBJECTS.name,
        topics.GROUND_TRUTH.name,
        topics.REFERENCE_PATH.name,  # the lane the AEB was given
    }
    assert (bag / "metadata.yaml").exists() and list(bag.glob("*.mcap"))


def test_same_code_same_outputs(bag: Path) -> None:
    assert run(bag, STACK) == []


def test_a_changed_braking_threshold_is_caught(bag: Path) -> None:
    brake = dataclasses.replace(STACK.aeb.brake, stop_margin_m=STACK.aeb.brake.stop_margin_m + 2.0)
    changed = dataclasses.replace(STACK, aeb=dataclasses.replace(STACK.aeb, brake=brake))
    differences = run(bag, changed)
    assert differences, "a 2 m larger stop margin must change some brake decision"
    assert {d.topic for d in differences} == {topics.BRAKE_COMMAND.name}
    assert all(d.field == "accel.linear.x" and d.index >= 0 for d in differences)
    first = differences[0]
    assert str(first).startswith(f"{topics.BRAKE_COMMAND.name} #{first.index} @ ")


def test_a_changed_tracking_parameter_names_the_object_field(bag: Path) -> None:
    tracker = dataclasses.replace(STACK.perception.pipeline.tracker, measurement_noise_m=0.3)
    pipeline = dataclasses.replace(STACK.perception.pipeline, tracker=tracker)
    changed = dataclasses.replace(STACK, perception=dataclasses.replace(STACK.perception, pipeline=pipeline))
    differences = run(bag, changed, ["perception"])
    assert differences and {d.topic for d in differences} == {topics.OBJECTS.name}
    fields = {d.field.split(".")[-1] for d in differences}
    assert "v_sigma" in fields and all(d.field.startswith("objects[") for d in differences)


def test_a_changed_clustering_parameter_is_caught(bag: Path) -> None:
    cluster = dataclasses.replace(STACK.perception.pipeline.cluster, min_points=500)
    pipeline = dataclasses.replace(STACK.perception.pipeline, cluster=cluster)
    changed = dataclasses.replace(STACK, perception=dataclasses.replace(STACK.perception, pipeline=pipeline))
    differences = run(bag, changed, ["perception"])
    assert any(d.topic == topics.OBJECTS.name and d.field == "objects.count" for d in differences)


def test_each_process_says_what_it_reads_and_writes() -> None:
    assert PROCESSES["aeb"].outputs == (topics.BRAKE_COMMAND.name,)
    assert PROCESSES["perception"].outputs == (topics.OBJECTS.name,)
    assert PROCESSES["perception"].takes(topics.CAMERA_IMAGE.format(camera="front"))
    assert not PROCESSES["aeb"].takes(topics.CAMERA_IMAGE.format(camera="front"))
    assert PROCESSES["aeb"].takes(topics.OBJECTS.name)  # the AEB reads what perception published


@pytest.mark.parametrize("name", sorted(REFERENCE_SCENARIOS))
def test_the_reference_bags_in_the_repo_replay_without_a_difference(name: str) -> None:
    """The openpilot process-replay check: a change that alters any node output fails here; if it is
    meant to, `av-edge regress --write-reference` re-records them (commit them with the change)."""
    assert run(REFERENCE_DIR / name, STACK) == []


def test_the_full_stack_replays_the_fused_list_the_node_publishes(tmp_path: Path) -> None:
    from av_edge.core.camera import load_rig
    from av_edge.paths import config_file

    rig = load_rig(config_file("vehicle.yaml"))
    short = dataclasses.replace(BY_NAME["ped_crossing_near_30kmh_day"], duration_s=0.6)
    with BagRecorder(tmp_path / "full") as recorder:
        run_lockstep(short, STACK, recorder, cameras=rig, full_stack=True)
    assert run(tmp_path / "full", STACK, ["perception"]) == []
    classes = dataclasses.replace(STACK.perception.fusion, min_iou=0.99)  # cameras' votes no longer match
    changed = dataclasses.replace(STACK, perception=dataclasses.replace(STACK.perception, fusion=classes))
    assert any(d.field.endswith(("class_id", "class_score")) for d in run(tmp_path / "full", changed, ["perception"]))


def test_bags_from_other_tools_in_sqlite3_read_too(tmp_path: Path) -> None:
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    from std_msgs.msg import String

    store = get_typestore(Stores.ROS2_HUMBLE)
    writer = Writer(tmp_path / "other", version=8, storage_plugin=StoragePlugin.SQLITE3)
    writer.open()
    connection = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=store)
    for i in range(3):
        writer.write(connection, 1000 + i, serialize_message(String(data=f"hello {i}")))
    writer.close()
    messages = list(read_bag(tmp_path / "other"))
    assert [(t, ts, m.data) for t, ts, m in messages] == [("/chatter", 1000 + i, f"hello {i}") for i in range(3)]


def test_recording_with_cameras_holds_images_and_camera_info(tmp_path: Path) -> None:
    from av_edge.core.camera import load_rig
    from av_edge.core.image import image_to_array
    from av_edge.paths import config_file

    rig = load_rig(config_file("vehicle.yaml"))
    short = dataclasses.replace(BY_NAME["fa_overhead_sign_gantry_80kmh"], duration_s=0.3)
    with BagRecorder(tmp_path / "cams") as recorder:
        run_lockstep(short, STACK, recorder, cameras=rig)
    images = [m for t, _, m in read_bag(tmp_path / "cams") if t == topics.CAMERA_IMAGE.format(camera="front")]
    infos = [m for t, _, m in read_bag(tmp_path / "cams") if t == topics.CAMERA_INFO.format(camera="front")]
    assert len(images) == len(infos) == 3
    assert image_to_array(images[0]).shape == (480, 640, 3)
    assert infos[0].k[0] == pytest.approx(rig[0].intrinsics()[0, 0])
    assert images[0].header.frame_id == "front_optical"


def test_bad_paths_and_bags_without_outputs_are_one_line_errors(
    bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from av_edge.cli import main

    inputs_only = tmp_path / "inputs_only"
    with BagRecorder(inputs_only) as recorder:
        for topic, log_ns, msg in read_bag(bag, {topics.LIDAR_POINTS.name, topics.ODOMETRY.name}):
            recorder.write(topic, msg, log_ns)
    for argv in (
        ["regress", str(tmp_path / "missing")],
        ["replay", str(tmp_path / "missing")],
        ["regress", str(inputs_only)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("[av_edge] ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert "nothing to compare" in err


def test_compare_names_object_fields_honours_ignore_and_reads_every_byte() -> None:
    import numpy as np

    from av_edge.core.objects import OBJECT_DTYPE, encode_objects
    from av_edge.ros.messages import cloud_msg
    from av_edge.suite.regression import compare

    objects = np.zeros(2, dtype=OBJECT_DTYPE)
    moved = objects.copy()
    moved["vx"][1] = 1.5
    a, b = (cloud_msg(encode_objects(o), 0, "base_link") for o in (objects, moved))
    assert compare(topics.OBJECTS.name, a, b, 1e-6, frozenset()) == [("objects[1].vx", 0.0, 1.5)]
    assert compare(topics.OBJECTS.name, a, b, 1e-6, frozenset({"objects.vx"})) == []
    cloud = cloud_msg(encode_objects(np.zeros(40, dtype=OBJECT_DTYPE)), 0, "odom")
    flipped = cloud_msg(encode_objects(np.zeros(40, dtype=OBJECT_DTYPE)), 0, "odom")
    flipped.data[-1] = 1  # one byte of thousands, in a topic compared leaf by leaf
    (difference,) = compare(topics.GROUND_TRUTH.name, cloud, flipped, 1e-6, frozenset())
    assert difference[0] == "data" and "crc32" in difference[1] and difference[1] != difference[2]
