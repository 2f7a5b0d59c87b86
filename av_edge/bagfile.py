"""rosbag2 directories that the targeted ROS 2 distro opens: metadata version and fields per distro.

``rosbags`` writes rosbag2 metadata versions 8 and 9 only. A newer version does not generally
replay on an older distro (ros2/rosbag2#1895), and Humble, which most vehicles run, writes and
best understands version 5. So a bag for Humble is written as version 8 (whose QoS strings hold
integer enums, as Humble's do) and its ``metadata.yaml`` is rewritten with the fields Humble's
encoder writes; Jazzy and Kilted get version 9 as they write it. Each topic carries the QoS its
publisher offers (from :mod:`av_edge.topics`), so ``ros2 bag play`` republishes best-effort sensor
data best effort and the availability telltale latched.

The fields are those each branch's decoder reads (``rosbag2_storage/include/rosbag2_storage/
yaml.hpp``: Humble 0.15, version 5; Jazzy 0.26 and Kilted 0.32, version 9).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rosbags.interfaces import Connection, Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore
from ruamel.yaml import YAML

from av_edge.core.errors import ConfigError
from av_edge.topics import ALL_TOPICS, QosSpec

ROS_DISTROS = ("humble", "jazzy", "kilted")
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
METADATA_VERSION = {"humble": 5, "jazzy": 9, "kilted": 9}  # BagMetadata::version on each distro's branch
_WRITTEN_AS = {"humble": 8, "jazzy": 9, "kilted": 9}  # what rosbags writes before the rewrite

# Keys of ``rosbag2_bagfile_information`` each metadata version's decoder requires (yaml.hpp):
# compression_* from 3, files from 5, custom_data from 6, ros_distro from 8.
REQUIRED_KEYS: dict[int, tuple[str, ...]] = {
    5: (
        "version",
        "storage_identifier",
        "duration",
        "starting_time",
        "message_count",
        "topics_with_message_count",
        "relative_file_paths",
        "compression_format",
        "compression_mode",
        "files",
    ),
}
REQUIRED_KEYS[9] = (*REQUIRED_KEYS[5], "custom_data", "ros_distro")
# Topic keys: offered_qos_profiles is a YAML string up to 8, a list from 9; type_description_hash from 7.
REQUIRED_TOPIC_KEYS: dict[int, tuple[str, ...]] = {5: ("name", "type", "serialization_format", "offered_qos_profiles")}
REQUIRED_TOPIC_KEYS[9] = (*REQUIRED_TOPIC_KEYS[5], "type_description_hash")

_UNSET = QosTime(0, 0)  # rmw's "default": no deadline, lifespan or lease
_SPECS = {spec.name: spec.qos for spec in ALL_TOPICS}


def check_target(ros_distro: str, storage: str) -> None:
    if ros_distro not in ROS_DISTROS:
        raise ConfigError(f"ros_distro {ros_distro!r}: expected one of {', '.join(ROS_DISTROS)}")
    if storage not in STORAGES:
        raise ConfigError(f"storage {storage!r}: expected one of {', '.join(STORAGES)}")


def offered_qos(topic: str) -> tuple[Qos, ...]:
    """The QoS av_edge's publisher of ``topic`` offers (none for a topic it does not publish)."""
    spec: QosSpec | None = _SPECS.get(topic)
    if spec is None:
        return ()
    reliability = QosReliability.RELIABLE if spec.reliable else QosReliability.BEST_EFFORT
    durability = QosDurability.TRANSIENT_LOCAL if spec.transient_local else QosDurability.VOLATILE
    qos = Qos(
        QosHistory.KEEP_LAST,
        spec.depth,
        reliability,
        durability,
        _UNSET,
        _UNSET,
        QosLiveliness.AUTOMATIC,
        _UNSET,
        False,
    )
    return (qos,)


class BagWriter:
    """A new rosbag2 directory at ``path`` for ``ros_distro`` in ``storage`` ("mcap": profile ros2)."""

    def __init__(self, path: Path, ros_distro: str = "humble", storage: str = "mcap") -> None:
        check_target(ros_distro, storage)
        self.path, self.ros_distro = path, ros_distro
        self._writer = Writer(path, version=_WRITTEN_AS[ros_distro], storage_plugin=STORAGES[storage])  # type: ignore[arg-type]
        self._writer.open()

    def add_connection(self, topic: str, msgtype: str, typestore: Typestore) -> Connection:
        return self._writer.add_connection(topic, msgtype, typestore=typestore, offered_qos_profiles=offered_qos(topic))

    def write(self, connection: Connection, log_time_ns: int, data: bytes | memoryview) -> None:
        self._writer.write(connection, log_time_ns, data)

    def close(self) -> None:
        self._writer.close()
        metadata_path = self.path / "metadata.yaml"
        yaml = YAML(typ="safe")
        document = yaml.load(metadata_path.read_text())
        document["rosbag2_bagfile_information"] = for_distro(document["rosbag2_bagfile_information"], self.ros_distro)
        yaml.default_flow_style = False
        with metadata_path.open("w") as f:
            yaml.dump(document, f)


def for_distro(info: dict[str, Any], ros_distro: str) -> dict[str, Any]:
    """``rosbag2_bagfile_information`` as ``ros_distro``'s rosbag2 writes it: its version, its keys."""
    version = METADATA_VERSION[ros_distro]
    out = {key: info[key] for key in REQUIRED_KEYS[version]} | {"version": version}
    topic_keys = REQUIRED_TOPIC_KEYS[version]
    out["topics_with_message_count"] = [
        {"topic_metadata": {k: t["topic_metadata"][k] for k in topic_keys}, "message_count": t["message_count"]}
        for t in info["topics_with_message_count"]
    ]
    if "ros_distro" in out:
        out["ros_distro"] = ros_distro
    return out
