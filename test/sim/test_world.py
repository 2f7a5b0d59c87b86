"""Scene boxes: the overlap test the family layouts are checked with."""

from __future__ import annotations

import math

from av_edge.sim.world import Box


def test_boxes_overlap_only_where_they_share_volume() -> None:
    car = Box(0.0, 0.0, 4.0, 2.0, 1.5)
    assert car.overlaps(Box(1.9, 0.9, 0.4, 0.4, 1.0))  # a corner inside
    assert not car.overlaps(Box(2.3, 0.0, 0.4, 0.4, 1.0))  # 0.1 m beyond the front
    assert not car.overlaps(Box(0.0, 0.0, 4.0, 2.0, 1.0, z_min=1.5))  # resting on the roof
    # Rotated 45 deg, its nearest corner 0.1 m beyond the front: apart, though the bounding boxes meet
    half_diagonal = math.sqrt(2) * 0.5
    assert not car.overlaps(Box(2.1 + half_diagonal, 0.0, 1.0, 1.0, 1.0, yaw=math.pi / 4))
    assert car.overlaps(Box(1.9 + half_diagonal, 0.0, 1.0, 1.0, 1.0, yaw=math.pi / 4))
