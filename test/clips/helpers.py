"""Clips in a spool, and checks that they arrived in S3 exactly once, byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from av_edge.clips.spool import Spool, write_mcap
from av_edge.clips.uploader import UploadSettings
from av_edge.core.clips.ring import RecordedMessage

CLOUD_TYPE = "sensor_msgs/msg/PointCloud2"


def serialized_clouds(count: int, points: int, seed: int) -> list[bytes]:
    """Real CDR PointCloud2 messages of random points (incompressible, like LiDAR data)."""
    from rclpy.serialization import serialize_message

    from av_edge.core.pointcloud import array_to_cloud
    from av_edge.ros.messages import cloud_msg

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        xyz = rng.normal(size=(points, 3)).astype(np.float32)
        cloud = np.zeros(points, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
        cloud["x"], cloud["y"], cloud["z"] = xyz.T
        out.append(serialize_message(cloud_msg(array_to_cloud(cloud), i * 100_000_000, "lidar")))
    return out


def add_clip(spool: Spool, name: str, mib: float, priority: int = 100, protected: bool = True, seed: int = 0) -> None:
    """A rosbag2 MCAP clip of about ``mib`` MiB (1 MiB scans) in the spool."""
    scans = serialized_clouds(max(1, round(mib)), points=87_381, seed=seed)
    messages = [RecordedMessage("/sensing/lidar/points", i * 100_000_000, data) for i, data in enumerate(scans)]
    spool.add(
        name,
        priority,
        len(spool.entries()),
        protected,
        {"kind": "clip"},
        lambda tmp: write_mcap(tmp / "clip", messages, {"/sensing/lidar/points": CLOUD_TYPE}),
    )


def settings(bucket: str, **overrides: Any) -> UploadSettings:
    values: dict[str, Any] = dict(
        bucket=bucket,
        prefix="clips",
        vehicle_id="test-car",
        part_size_bytes=5 << 20,
        bandwidth_bytes_per_s=0.0,
        burst_bytes=5 << 20,
        retry_base_s=0.02,
        retry_cap_s=0.3,
        delete_after_upload=True,
    )
    values.update(overrides)
    return UploadSettings(**values)


def expected_objects(spool: Spool, prefix: str = "clips/test-car") -> dict[str, str]:
    """Object key -> sha256 of every file the spool should deliver."""
    found = {}
    for entry in spool.entries():
        for relative in spool.payload_files(entry.entry_id):
            data = (spool.path(entry.entry_id) / relative).read_bytes()
            found[f"{prefix}/{entry.entry_id}/{relative.as_posix()}"] = hashlib.sha256(data).hexdigest()
    return found


def stored_objects(client: Any, bucket: str) -> dict[str, str]:
    """Key -> sha256 of every object in the bucket (downloaded)."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = hashlib.sha256(body).hexdigest()
    return found


def assert_delivered_exactly(client: Any, bucket: str, expected: dict[str, str], spool: Spool) -> None:
    """N clips in, N identical objects out, nothing left behind locally or half-done on the server."""
    assert expected, "nothing was expected: the test set-up is broken"
    assert stored_objects(client, bucket) == expected
    assert spool.entries() == []
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def quiet(_: str) -> None:
    pass


def spool_at(path: Path, quota_mib: int = 1024) -> Spool:
    return Spool(path, quota_mib << 20, evict_protected=False, log=quiet)
