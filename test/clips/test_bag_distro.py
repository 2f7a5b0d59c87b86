"""A clip opens on the ROS 2 distro it was written for: rosbag2 metadata version and fields as that
distro's decoder reads them, and an MCAP the PyPI ``mcap`` + ``mcap-ros2-support`` readers decode.

The decoders below restate what rosbag2's ``rosbag2_storage/include/rosbag2_storage/yaml.hpp``
(and, for Humble's QoS strings, ``rosbag2_transport/src/rosbag2_transport/qos.cpp``) read on each
branch, written here from those sources, not from ``av_edge.bagfile``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from av_edge.clips.recorder import ClipRecorder
from test.clips.helpers import quiet, spool_at
from test.clips.test_recorder import config, drive

# BagMetadata::version on each branch (humble 0.15.x, jazzy 0.26.x, kilted 0.32.x).
VERSION = {"humble": 5, "jazzy": 9, "kilted": 9}


def decode_bag_metadata(info: dict[str, Any]) -> int:
    """What yaml.hpp's ``convert<BagMetadata>::decode`` reads at the file's own version; raises as it would."""
    version = info["version"]
    assert isinstance(info["storage_identifier"], str)
    assert isinstance(info["duration"]["nanoseconds"], int)
    assert isinstance(info["starting_time"]["nanoseconds_since_epoch"], int)
    assert isinstance(info["message_count"], int)
    assert all(isinstance(p, str) for p in info["relative_file_paths"])
    for topic in info["topics_with_message_count"]:
        meta = topic["topic_metadata"]
        assert all(isinstance(meta[k], str) for k in ("name", "type", "serialization_format"))
        qos = meta["offered_qos_profiles"]
        assert isinstance(qos, list if version >= 9 else str), (version, qos)
        if version >= 7:
            assert isinstance(meta["type_description_hash"], str)
        assert isinstance(topic["message_count"], int)
    if version >= 3:
        assert isinstance(info["compression_format"], str) and isinstance(info["compression_mode"], str)
    if version >= 5:
        for f in info["files"]:
            assert isinstance(f["path"], str) and isinstance(f["message_count"], int)
            assert isinstance(f["duration"]["nanoseconds"], int)
            assert isinstance(f["starting_time"]["nanoseconds_since_epoch"], int)
    if version >= 6:
        assert info["custom_data"] is None or isinstance(info["custom_data"], dict)
    if version >= 8:
        assert isinstance(info["ros_distro"], str)
    return int(version)


def decode_humble_qos(text: str) -> list[dict[str, Any]]:
    """Humble's ``Rosbag2QoS`` decode: integer policies, (sec, nsec) durations."""
    profiles = yaml.safe_load(text) if text else []
    for p in profiles:
        assert all(type(p[k]) is int for k in ("history", "depth", "reliability", "durability", "liveliness"))
        for key in ("deadline", "lifespan", "liveliness_lease_duration"):
            assert type(p[key]["sec"]) is int and type(p[key]["nsec"]) is int
        assert isinstance(p["avoid_ros_namespace_conventions"], bool)
    return list(profiles)


def write_clip(tmp_path: Path, distro: str) -> Path:
    spool = spool_at(tmp_path / "spool")
    recorder = ClipRecorder(config(**{"bag.ros_distro": distro}), spool, quiet)
    drive(recorder, 8.0, brake_at=frozenset({4.0}))
    (entry,) = spool.entries()
    return spool.path(entry.entry_id) / "clip"


@pytest.mark.parametrize("distro", ["humble", "jazzy", "kilted"])
def test_a_clip_carries_the_metadata_its_distro_reads_and_decodes_with_the_mcap_readers(
    tmp_path: Path, distro: str
) -> None:
    clip = write_clip(tmp_path, distro)
    info = yaml.safe_load((clip / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert decode_bag_metadata(info) == VERSION[distro]
    if VERSION[distro] < 6:  # no key a newer rosbag2 added: written as that distro writes it
        assert not {"custom_data", "ros_distro"} & set(info)
    else:
        assert info["ros_distro"] == distro
    expected = {t["topic_metadata"]["name"]: t["message_count"] for t in info["topics_with_message_count"]}

    (mcap_file,) = [clip / p for p in info["relative_file_paths"]]
    counts: dict[str, int] = {}
    with mcap_file.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == "ros2"
        for schema, channel, _, decoded in reader.iter_decoded_messages():
            assert schema is not None and schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            counts[channel.topic] = counts.get(channel.topic, 0) + 1
            if channel.topic == "/av_edge/aeb/brake_cmd":
                assert decoded.accel.linear.x <= 0.0
            if distro == "humble":
                offered = decode_humble_qos(channel.metadata["offered_qos_profiles"])
                assert offered, f"{channel.topic}: no offered QoS, so ros2 bag play falls back to defaults"
    assert counts == expected and sum(counts.values()) == info["message_count"] > 0


def test_recorded_topics_carry_the_qos_their_publishers_offer(tmp_path: Path) -> None:
    info = yaml.safe_load((write_clip(tmp_path, "humble") / "metadata.yaml").read_text())
    qos = {
        t["topic_metadata"]["name"]: decode_humble_qos(t["topic_metadata"]["offered_qos_profiles"])[0]
        for t in info["rosbag2_bagfile_information"]["topics_with_message_count"]
    }
    best_effort, reliable = 2, 1  # rmw_qos_reliability_policy_t
    assert qos["/sensing/lidar/points"]["reliability"] == best_effort
    assert qos["/av_edge/aeb/brake_cmd"]["reliability"] == reliable
