"""``av-edge replay BAG``: publish a rosbag2's messages with their original timing, plus ``/clock``.

Works on bags from the suite and from other tools (MCAP or sqlite3). Options: playback rate, loop,
start offset, topic selection and remapping, and restamping headers to now as a live sensor would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from av_edge import topics
from av_edge.ros.messages import message_class, ns_to_stamp
from av_edge.ros.qos import qos_profile
from av_edge.suite.bag import bag_topics, read_bag

MATCH_TIMEOUT_S = 5.0  # waiting longer for topics nobody subscribes to only delays the replay
CLOCK_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
DEFAULT_QOS = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)


def _qos(topic: str) -> QoSProfile:
    spec = next((t for t in topics.ALL_TOPICS if t.name == topic), None)
    return qos_profile(spec.qos) if spec else DEFAULT_QOS


def replay(
    bag: Path,
    *,
    rate: float = 1.0,
    loop: bool = False,
    start_offset_s: float = 0.0,
    only: Sequence[str] = (),
    remap: Mapping[str, str] | None = None,
    restamp: bool = False,
    clock: bool = True,
    domain_id: int | None = None,
) -> int:
    """Publish ``bag`` (all topics, or ``only``); returns the number of messages published."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    remap = dict(remap or {})
    selected = {t: m for t, m in bag_topics(bag).items() if not only or t in only}  # a bad bag fails here
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain_id)
    node = rclpy.create_node("av_edge_replay", context=context)
    clock_publisher = node.create_publisher(Clock, "/clock", CLOCK_QOS) if clock else None
    publishers = {
        topic: node.create_publisher(message_class(msgtype), remap.get(topic, topic), _qos(remap.get(topic, topic)))
        for topic, msgtype in selected.items()
    }
    published = 0
    try:
        _wait_for_subscribers(list(publishers.values()), MATCH_TIMEOUT_S)
        while True:
            first_ns: int | None = None
            wall_start = time.monotonic()
            for topic, log_ns, msg in read_bag(bag, set(only) if only else None):
                if first_ns is None:
                    first_ns = log_ns + int(start_offset_s * 1e9)
                if log_ns < first_ns:
                    continue
                delay = (log_ns - first_ns) / 1e9 / rate - (time.monotonic() - wall_start)
                if delay > 0:
                    time.sleep(delay)
                if clock_publisher is not None:
                    clock_publisher.publish(Clock(clock=ns_to_stamp(log_ns)))
                if restamp and hasattr(msg, "header"):
                    msg.header.stamp = node.get_clock().now().to_msg()
                publishers[topic].publish(msg)
                published += 1
            if not loop or not context.ok():
                break
        time.sleep(DRAIN_S)  # the last (best-effort, fragmented) clouds are still in flight: do not drop them
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        context.try_shutdown()
    return published


DRAIN_S = 0.5


def _wait_for_subscribers(publishers: list[Any], timeout_s: float) -> None:
    """Until every publisher that will get a subscriber has one (discovery), or the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not all(p.get_subscription_count() > 0 for p in publishers):
        time.sleep(0.05)
    time.sleep(0.2)  # matched endpoints: let the last handshakes finish


def parse_remaps(items: Sequence[str]) -> dict[str, str]:
    remaps = {}
    for item in items:
        source, sep, target = item.partition(":=")
        if not sep or not source or not target:
            raise ValueError(f"remap '{item}' is not FROM:=TO")
        remaps[source] = target
    return remaps


def main(
    bag: Path, rate: float, loop: bool, start: float, only: list[str], remaps: list[str], restamp: bool, clock: bool
) -> int:
    count = replay(
        bag,
        rate=rate,
        loop=loop,
        start_offset_s=start,
        only=only,
        remap=parse_remaps(remaps),
        restamp=restamp,
        clock=clock,
    )
    print(f"replay: published {count} messages from {bag}")
    return 0
