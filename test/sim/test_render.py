"""Simulated camera images: the scene shows up where the projection says, day and night, reproducibly."""

from __future__ import annotations

import numpy as np

from av_edge.core.camera import project
from av_edge.core.geometry import transform_points
from av_edge.sim.render import COLOURS, CameraRenderer
from av_edge.sim.road import Road
from av_edge.sim.world import Box
from test.core.test_camera import RIG

FRONT = RIG[0]
CAR = Box(25.0, 0.0, 4.5, 1.8, 1.5, "car")


def render(night: bool = False, boxes: list[Box] | None = None, seed: int = 0) -> np.ndarray:
    return CameraRenderer(FRONT, seed).render((0.0, 0.0, 0.0), boxes or [CAR], Road(), 0.0, night)


def test_image_shape_and_type() -> None:
    image = render()
    assert image.shape == (FRONT.height, FRONT.width, 3) and image.dtype == np.uint8


def test_the_car_is_drawn_where_it_projects() -> None:
    image = render()
    centre = transform_points(FRONT.optical_from_base(), np.array([[CAR.rear_x, 0.0, 0.75]]))
    u, v = np.round(project(centre, FRONT.intrinsics())[0]).astype(int)
    assert np.abs(image[v, u].astype(int) - np.array(COLOURS["car"]) * 0.55).max() < 40  # its (shaded) rear face
    empty = render(boxes=[Box(25.0, 30.0, 4.5, 1.8, 1.5, "car")])  # the same car far out of view
    assert np.abs(empty[v, u].astype(int) - image[v, u].astype(int)).max() > 40


def test_night_is_dark_outside_the_headlights() -> None:
    day, night = render(), render(night=True)
    assert night[:100].mean() < 20 < day[:100].mean()
    assert night[-40:, FRONT.width // 2].mean() > night[-40:, 5].mean() + 20  # the lit road ahead


def test_same_seed_same_image() -> None:
    assert np.array_equal(render(seed=3), render(seed=3))
