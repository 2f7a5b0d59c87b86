"""clip_recorder_node over DDS: a braking onset and the manual service each produce a clip that
lands in S3 (moto_server) and opens with rosbags holding the pre- and post-window of every topic."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from geometry_msgs.msg import AccelStamped
from rosbags.highlevel import AnyReader
from std_srvs.srv import Trigger

from av_edge import processes, topics
from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.handlers import brake_command
from av_edge.ros.messages import cloud_msg, statuses
from av_edge.ros.probe import VehicleProbe
from av_edge.ros.qos import qos_profile
from test.clips.conftest import S3Server, s3_client

PRE_S, POST_S = 2.0, 1.0
RECORDED = (topics.LIDAR_POINTS.name, topics.ODOMETRY.name, topics.BRAKE_COMMAND.name)


CONFINED_TO = str(max(os.sched_getaffinity(0)))  # the recorder's cpus parameter: the last core


def thread_cores(pid: int) -> set[str]:
    """The cores each thread of ``pid`` may run on, as /proc lists them (e.g. {'1'})."""
    lists = set()
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        line = next(x for x in status.read_text().splitlines() if x.startswith("Cpus_allowed_list"))
        lists.add(line.split(":", 1)[1].strip())
    return lists


def wait_for(condition: Callable[[], bool], timeout_s: float, tick: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        tick()


def test_braking_and_manual_clips_arrive_in_s3(
    dds_domain: int, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    params = [
        f"spool.directory:={tmp_path / 'spool'}",
        f"uploader.endpoint_url:={s3_server.endpoint}",
        f"uploader.bucket:={bucket}",
        "uploader.region:=us-east-1",
        "uploader.retry_cap_s:=1.0",
        f"pre_trigger_s:={PRE_S}",
        f"post_trigger_s:={POST_S}",
        "vehicle_id:=dds-test-car",
        "topics:=[" + ",".join(f"'{t}'" for t in RECORDED) + "]",
        f"cpus:='{CONFINED_TO}'",
    ]
    log = tmp_path / "clip_recorder_node.log"
    node = processes.start(
        processes.node_command("clip_recorder_node", params), processes.dds_environment(dds_domain), log
    )
    probe = VehicleProbe(dds_domain, "clip_test_probe")
    brakes = probe.node.create_publisher(AccelStamped, topics.BRAKE_COMMAND.name, qos_profile(topics.BRAKE_COMMAND.qos))
    cloud = cloud_msg(xyz_to_cloud(np.random.default_rng(0).normal(size=(2000, 3)).astype(np.float32)), 0, "lidar")
    accel = [0.0]

    def tick() -> None:  # 10 Hz vehicle: a scan, odometry and the brake request
        stamp = probe.publish_cloud(cloud)
        probe.publish_speed(10.0)
        brakes.publish(brake_command(accel[0], stamp))
        time.sleep(0.1)

    def recorder_status() -> str:
        found = [s for msg in probe.diagnostics for s in statuses(msg) if s.hardware_id == "clip_recorder"]
        return found[-1].message if found else ""

    client = s3_client(s3_server.endpoint)

    def keys() -> list[str]:
        return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    try:
        wait_for(lambda: recorder_status() == "recording", 60, tick)  # every topic discovered
        assert thread_cores(node.pid) == {CONFINED_TO}  # every thread, DDS and uploader ones too
        for _ in range(int(PRE_S * 10) + 5):
            tick()
        accel[0] = -8.0
        for _ in range(10):
            tick()
        accel[0] = 0.0
        wait_for(lambda: any("_braking_" in k and k.endswith(".mcap") for k in keys()), 60, tick)

        service = probe.node.create_client(Trigger, "/clip_recorder_node/trigger_clip")
        assert service.wait_for_service(timeout_sec=10)
        future = service.call_async(Trigger.Request())
        wait_for(future.done, 10, tick)
        assert future.result().success, future.result().message
        wait_for(lambda: any("_manual_" in k and k.endswith(".mcap") for k in keys()), 60, tick)
        wait_for(lambda: not list((tmp_path / "spool").glob("*_*")), 30, tick)  # verified and deleted
    finally:
        probe.close()
        processes.stop(node)
        print(log.read_text()[-3000:])

    for kind in ("braking", "manual"):
        prefix = next(k for k in keys() if f"_{kind}_" in k).rsplit("/", 2)[0]
        local = tmp_path / kind
        for key in (f"{prefix}/clip/clip.mcap", f"{prefix}/clip/metadata.yaml"):
            (local / Path(key).name).parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, key, str(local / Path(key).name))
        with AnyReader([local]) as reader:
            times: dict[str, list[int]] = {}
            for connection, timestamp, _ in reader.messages():
                times.setdefault(connection.topic, []).append(timestamp)
        assert set(times) == set(RECORDED), kind
        assert "reliable" in log.read_text()  # the brake request's publisher is reliable: recorded reliably
        for topic, t in times.items():
            span = (max(t) - min(t)) / 1e9
            assert span >= PRE_S + POST_S - 0.3, (kind, topic, span)  # the whole window, both sides
            assert len(t) >= (PRE_S + POST_S) * 10 * 0.8, (kind, topic, len(t))
