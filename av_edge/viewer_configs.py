"""``config/av_edge.rviz`` and ``config/foxglove_layout.json``, generated from the topic registry.

Each display subscribes with its topic's registered QoS (RViz's default, reliable, would receive
nothing from a best-effort LiDAR), so the files cannot drift from what the nodes publish:
``av-edge viewer-configs`` writes them and ``test/test_viewer_configs.py`` fails when they are stale.
Frames need the static transforms the launch file publishes (``publish_tf``) and, for the planner's
odom-frame path, the vehicle's odom -> base_link (its localization; the simulator's odometry).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from av_edge import topics
from av_edge.core.camera import load_rig
from av_edge.paths import config_file

RVIZ_FILE, FOXGLOVE_FILE = "av_edge.rviz", "foxglove_layout.json"


def _rviz_topic(spec: topics.TopicSpec, name: str | None = None) -> dict[str, Any]:
    q = spec.qos
    return {
        "Value": name or spec.name,
        "Depth": q.depth,
        "History Policy": "Keep Last",
        "Reliability Policy": "Reliable" if q.reliable else "Best Effort",
        "Durability Policy": "Transient Local" if q.transient_local else "Volatile",
    }


def _cloud(name: str, spec: topics.TopicSpec, size: float, colour: str | None) -> dict[str, Any]:
    display: dict[str, Any] = {
        "Class": "rviz_default_plugins/PointCloud2",
        "Name": name,
        "Enabled": True,
        "Topic": _rviz_topic(spec),
        "Style": "Points",
        "Size (Pixels)": size,
        "Decay Time": 0,
    }
    if colour is None:
        display |= {"Color Transformer": "Intensity", "Channel Name": "intensity"}
    else:
        display |= {"Color Transformer": "FlatColor", "Color": colour}
    return display


def _markers(name: str, spec: topics.TopicSpec) -> dict[str, Any]:
    return {"Class": "rviz_default_plugins/MarkerArray", "Name": name, "Enabled": True, "Topic": _rviz_topic(spec)}


def rviz_config(cameras: tuple[str, ...]) -> dict[str, Any]:
    displays: list[dict[str, Any]] = [
        {"Class": "rviz_default_plugins/Grid", "Name": "Grid", "Enabled": True, "Cell Size": 5, "Plane Cell Count": 40},
        {"Class": "rviz_default_plugins/TF", "Name": "TF", "Enabled": False},
        _cloud("LiDAR", topics.LIDAR_POINTS, 2, None),
        _cloud("Obstacle points", topics.OBSTACLE_POINTS, 4, "255; 85; 0"),
        _markers("Objects", topics.MARKERS),
        _markers("AEB corridor and state", topics.AEB_MARKERS),
        {
            "Class": "rviz_default_plugins/Path",
            "Name": "Planned path",
            "Enabled": True,
            "Topic": _rviz_topic(topics.PLANNED_PATH),
            "Color": "25; 102; 255",
            "Line Style": {"Value": "Billboards", "Line Width": 0.2},
        },
        _markers("Planner candidates", topics.PLANNER_MARKERS),
    ]
    for camera in cameras:
        image = topics.DETECTION_IMAGE.format(camera=camera)
        displays.append(
            {
                "Class": "rviz_default_plugins/Image",
                "Name": f"Detections {camera}",
                "Enabled": camera == cameras[0],
                "Topic": _rviz_topic(topics.DETECTION_IMAGE, image),
            }
        )
    return {
        "Panels": [{"Class": "rviz_common/Displays", "Name": "Displays"}],
        "Visualization Manager": {
            "Class": "",
            "Displays": displays,
            "Enabled": True,
            "Global Options": {"Fixed Frame": "base_link", "Background Color": "30; 30; 30", "Frame Rate": 30},
            "Name": "root",
            "Tools": [{"Class": "rviz_default_plugins/MoveCamera"}, {"Class": "rviz_default_plugins/Measure"}],
            "Views": {
                "Current": {
                    "Class": "rviz_default_plugins/Orbit",
                    "Distance": 45.0,
                    "Focal Point": {"X": 15.0, "Y": 0.0, "Z": 0.0},
                    "Pitch": 0.75,
                    "Yaw": 3.14,
                    "Target Frame": "base_link",
                }
            },
        },
    }


def foxglove_layout(cameras: tuple[str, ...]) -> dict[str, Any]:
    three_d = {
        "followTf": "base_link",
        "scene": {"backgroundColor": "#1e1e1e"},
        "cameraState": {"distance": 45, "phi": 45, "thetaOffset": 90, "targetOffset": [15, 0, 0], "perspective": True},
        "topics": {
            topics.LIDAR_POINTS.name: {
                "visible": True,
                "pointSize": 2,
                "colorField": "intensity",
                "colorMode": "colormap",
            },
            topics.OBSTACLE_POINTS.name: {"visible": True, "pointSize": 4, "colorMode": "flat", "flatColor": "#ff5500"},
            topics.MARKERS.name: {"visible": True},
            topics.AEB_MARKERS.name: {"visible": True},
            topics.PLANNED_PATH.name: {"visible": True, "lineWidth": 0.2, "gradient": ["#1966ff", "#1966ff"]},
            topics.PLANNER_MARKERS.name: {"visible": False},
        },
    }
    brake = {
        "title": "AEB: brake request (m/s²) and ego speed (m/s)",
        "paths": [
            {"value": f"{topics.BRAKE_COMMAND.name}.accel.linear.x", "enabled": True, "timestampMethod": "headerStamp"},
            {
                "value": f"{topics.ODOMETRY.name}.twist.twist.linear.x",
                "enabled": True,
                "timestampMethod": "headerStamp",
            },
        ],
        "showLegend": True,
        "xAxisVal": "timestamp",
    }
    availability = {
        "title": "AEB availability (0 available, 1 degraded, 2 unavailable)",
        "paths": [{"value": f"{topics.AEB_AVAILABILITY.name}.level", "timestampMethod": "receiveTime"}],
    }
    image = {"imageMode": {"imageTopic": topics.DETECTION_IMAGE.format(camera=cameras[0])}} if cameras else {}
    return {
        "configById": {
            "3D!av_edge": three_d,
            "Plot!brake": brake,
            "StateTransitions!availability": availability,
            "Image!detections": image,
            "RosOut!log": {"minLogLevel": 2},
        },
        "globalVariables": {},
        "userNodes": {},
        "playbackConfig": {"speed": 1},
        "layout": {
            "direction": "row",
            "first": "3D!av_edge",
            "second": {
                "direction": "column",
                "first": "Image!detections",
                "second": {
                    "direction": "column",
                    "first": "Plot!brake",
                    "second": {"direction": "column", "first": "StateTransitions!availability", "second": "RosOut!log"},
                },
                "splitPercentage": 35,
            },
            "splitPercentage": 62,
        },
    }


def rendered() -> dict[str, str]:
    """File name -> the text it must hold."""
    cameras = tuple(c.name for c in load_rig(config_file("vehicle.yaml")))
    header = "# Generated by `av-edge viewer-configs` from av_edge/topics.py; do not edit by hand.\n"
    rviz = header + yaml.safe_dump(rviz_config(cameras), sort_keys=False)
    foxglove = json.dumps(foxglove_layout(cameras), indent=2) + "\n"
    return {RVIZ_FILE: rviz, FOXGLOVE_FILE: foxglove}


def main(directory: Path | None = None) -> int:
    target = directory or config_file(RVIZ_FILE).parent
    for name, text in rendered().items():
        (target / name).write_text(text)
        print(f"wrote {target / name}")
    return 0
