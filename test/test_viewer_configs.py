"""The RViz config and the Foxglove layout: current with the topic registry, subscribing as it says."""

from __future__ import annotations

import json

import yaml

from av_edge import topics
from av_edge.paths import config_file
from av_edge.viewer_configs import FOXGLOVE_FILE, RVIZ_FILE, rendered


def test_the_committed_files_are_current() -> None:
    for name, text in rendered().items():
        assert config_file(name).read_text() == text, f"config/{name} is stale: run `av-edge viewer-configs`"


def test_rviz_subscribes_with_each_topics_qos_and_shows_what_the_aeb_sees() -> None:
    config = yaml.safe_load(config_file(RVIZ_FILE).read_text())["Visualization Manager"]
    specs = {s.name: s for s in topics.ALL_TOPICS}
    shown = {}
    for display in config["Displays"]:
        topic = display.get("Topic")
        if topic is None:
            continue
        name = topic["Value"]
        spec = specs.get(name) or next(
            s for s in specs.values() if "{" in s.name and name.startswith(s.name.split("{")[0])
        )
        assert topic["Reliability Policy"] == ("Reliable" if spec.qos.reliable else "Best Effort"), name
        assert topic["Durability Policy"] == ("Transient Local" if spec.qos.transient_local else "Volatile"), name
        shown[name] = display["Class"]
    assert shown[topics.LIDAR_POINTS.name].endswith("PointCloud2") and topics.AEB_MARKERS.name in shown
    assert {topics.MARKERS.name, topics.PLANNED_PATH.name, topics.OBSTACLE_POINTS.name} <= set(shown)
    assert config["Global Options"]["Fixed Frame"] == "base_link"


def test_the_foxglove_layout_names_only_panels_it_lays_out_and_real_topics() -> None:
    layout = json.loads(config_file(FOXGLOVE_FILE).read_text())
    panels = set(layout["configById"])

    def leaves(node: object) -> set[str]:
        return {node} if isinstance(node, str) else leaves(node["first"]) | leaves(node["second"])  # type: ignore[index]

    assert leaves(layout["layout"]) == panels
    names = {s.name for s in topics.ALL_TOPICS}
    for topic in layout["configById"]["3D!av_edge"]["topics"]:
        assert topic in names
    for path in layout["configById"]["Plot!brake"]["paths"]:
        assert path["value"].split(".")[0] in names
