"""rosbag2 files through ``rosbags``: record ROS messages to MCAP, read any rosbag2 (MCAP or sqlite3).

Messages are (de)serialised by rclpy itself, so what is recorded is byte-for-byte what DDS carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.typesys import Stores, get_typestore

from av_edge.bagfile import BagWriter
from av_edge.core.errors import AvEdgeError
from av_edge.ros.messages import message_class, msgtype_of


class BagRecorder:
    """Writes ROS messages to a new rosbag2 directory that ``ros_distro`` replays."""

    def __init__(self, path: Path, ros_distro: str = "humble", storage: str = "mcap") -> None:
        self._writer = BagWriter(path, ros_distro, storage)
        self._typestore = get_typestore(Stores.LATEST)
        self._connections: dict[str, Any] = {}
        self.path = path

    def write(self, topic: str, msg: Any, log_time_ns: int) -> None:
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype_of(msg), self._typestore)
            self._connections[topic] = connection
        self._writer.write(connection, log_time_ns, serialize_message(msg))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BagError(AvEdgeError):
    """A path that is not a readable rosbag2 (missing, no metadata, corrupt)."""


@contextmanager
def _open(path: Path) -> Iterator[AnyReader]:
    try:
        with AnyReader([path]) as reader:
            yield reader
    except (OSError, AnyReaderError) as err:
        raise BagError(f"cannot read bag {path}: {err}") from None


def bag_topics(path: Path) -> dict[str, str]:
    """Topic -> message type of every connection in a rosbag2."""
    with _open(path) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def read_bag(path: Path, topics: set[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """(topic, log time ns, rclpy message) in log-time order, from an MCAP or sqlite3 rosbag2."""
    with _open(path) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        classes = {c.id: message_class(c.msgtype) for c in connections}
        for connection, timestamp, raw in reader.messages(connections=connections):
            yield connection.topic, timestamp, deserialize_message(raw, classes[connection.id])
