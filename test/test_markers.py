"""RViz markers carry each object's track, class and the cameras' confidence."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (make test installs it)", allow_module_level=True)

from av_edge.core.objects import CLASSES, OBJECT_DTYPE
from av_edge.ros.messages import object_markers


def test_labels_name_class_and_confidence() -> None:
    objects = np.zeros(2, OBJECT_DTYPE)
    objects["track_id"] = 7, 8
    objects["class_id"] = CLASSES.index("pedestrian"), 0
    objects["class_score"] = 0.83, 0.0
    objects["vx"] = 1.4, 0.0
    labels = [m.text for m in object_markers(objects, 0, "base_link").markers if m.ns == "track_ids"]
    assert labels == ["7 pedestrian 0.83 1.4 m/s", "8 unknown 0.0 m/s"]
