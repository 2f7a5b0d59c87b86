"""Synthetic camera detection data: random scenes rendered by the simulator's camera model with
domain randomisation (lighting, colours, night, noise, blur, occluders, camera pitch), labelled
with occlusion-aware 2D boxes from an instance mask. For training and validating the default model.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from av_edge.core.camera import CameraConfig
from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.sim.actors import SIZES, _person
from av_edge.sim.render import COLOURS, CameraRenderer
from av_edge.sim.road import Road
from av_edge.sim.world import Box

DETECTOR_CLASSES = ("car", "truck", "pedestrian", "cyclist")
MIN_VISIBLE_PIXELS = 30
MIN_HEIGHT_PX = 8


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything that shapes the data (recorded in the model manifest)."""

    night_fraction: float = 0.3
    max_actors: int = 9
    max_range_m: float = 70.0
    occluder_probability: float = 0.4
    blur_probability: float = 0.3
    pitch_jitter_rad: float = 0.02
    colour_jitter: float = 0.5


def sample(
    camera: CameraConfig, rng: np.random.Generator, settings: GeneratorSettings, night: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One BGR image and its labels (DETECTION_DTYPE, score 1) from a random scene."""
    night = bool(rng.random() < settings.night_fraction) if night is None else night
    pitch = float(rng.normal(0.0, settings.pitch_jitter_rad))
    extrinsic = dataclasses.replace(camera.extrinsic, pitch=camera.extrinsic.pitch + pitch)
    renderer = CameraRenderer(dataclasses.replace(camera, extrinsic=extrinsic), int(rng.integers(1 << 31)))
    road = Road(radius_m=float(rng.choice([0.0, 0.0, 150.0, -150.0, 400.0, -400.0])))
    groups, labels = _scene(road, rng, settings)
    boxes = [box for group in groups for box in group]
    owner = np.array([g for g, group in enumerate(groups) for _ in group], np.int64)
    colours = _colours(rng, settings.colour_jitter)
    instances = np.zeros((camera.height, camera.width), np.uint16)
    image = renderer.render((0.0, 0.0, 0.0), boxes, road, 0.0, night, colours, instances)
    if rng.random() < settings.blur_probability:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 1.5)))
    gain = rng.uniform(0.7, 1.3)
    image = cv2.convertScaleAbs(image, alpha=gain, beta=float(rng.uniform(-15, 15)))
    return image, _labels(instances, owner, labels)


def _scene(road: Road, rng: np.random.Generator, settings: GeneratorSettings) -> tuple[list[list[Box]], list[int]]:
    """Actor box groups (a person is four boxes) and their class index; unlabelled clutter has -1."""
    groups: list[list[Box]] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, settings.max_actors + 1))):
        kind = str(rng.choice(DETECTOR_CLASSES, p=[0.4, 0.15, 0.3, 0.15]))
        s = float(rng.uniform(4.0, settings.max_range_m))
        d = float(rng.uniform(-9.0, 9.0))
        x, y, heading = road.pose(s, d)
        yaw = heading + float(rng.choice([0.0, math.pi, rng.uniform(-math.pi, math.pi)]))
        length, width, height, z_min = SIZES[kind]
        scale = float(rng.uniform(0.85, 1.15))
        if kind == "pedestrian":
            group = _person(x, y, yaw, stride=float(rng.uniform(-0.2, 0.2)))
            group = [dataclasses.replace(b, height=b.height * scale, z_min=b.z_min * scale) for b in group]
        elif kind == "cyclist":
            group = [
                Box(x, y, length, 0.15, 1.0, "cyclist", 0.0, yaw),  # bike
                Box(x, y, 0.4, 0.45, 0.75 * scale, "cyclist", 0.95, yaw),  # rider
            ]
        else:
            group = [Box(x, y, length * scale, width * scale, height * scale, kind, z_min, yaw)]
        groups.append(group)
        labels.append(DETECTOR_CLASSES.index(kind))
    if rng.random() < settings.occluder_probability:  # walls, bins, poles: things that are not objects
        for _ in range(int(rng.integers(1, 4))):
            x, y, heading = road.pose(float(rng.uniform(5.0, 40.0)), float(rng.choice([-1, 1]) * rng.uniform(3, 10)))
            length, width, height = (float(v) for v in rng.uniform([0.3, 0.3, 0.5], [4.0, 1.0, 2.5]))
            groups.append([Box(x, y, length, width, height, "clutter", 0.0, heading)])
            labels.append(-1)
    return groups, labels


def _colours(rng: np.random.Generator, jitter: float) -> dict[str, tuple[int, int, int]]:
    """Class colours randomised (a car may be any colour; the class is in the shape)."""
    colours = {}
    for label in (*COLOURS, "clutter"):
        if rng.random() < jitter:
            colours[label] = tuple(int(c) for c in rng.integers(20, 235, 3))
        else:
            colours[label] = COLOURS.get(label, (128, 128, 128))
    return colours  # type: ignore[return-value]


def labelled(instances: np.ndarray, owner: np.ndarray, n: int, min_height_px: int = MIN_HEIGHT_PX) -> np.ndarray:
    """Mask of the n owners (``owner`` maps box index to owner) visible enough in an instance image
    to be labelled: MIN_VISIBLE_PIXELS unoccluded pixels spanning ``min_height_px`` rows."""
    rows, cols = np.nonzero(instances)
    who = owner[instances[rows, cols].astype(np.intp) - 1]
    count = np.bincount(who, minlength=n)
    top = np.full(n, instances.shape[0], np.intp)
    bottom = np.full(n, -1, np.intp)
    np.minimum.at(top, who, rows)
    np.maximum.at(bottom, who, rows)
    return (count >= MIN_VISIBLE_PIXELS) & (bottom + 1 - top >= min_height_px)


def _labels(instances: np.ndarray, owner: np.ndarray, classes: list[int]) -> np.ndarray:
    """Visible-pixel boxes of each labelled actor from the instance mask."""
    shown = labelled(instances, owner, len(classes))
    rows = []
    ids = instances.ravel()
    visible = ids > 0
    group_of_pixel = owner[ids[visible].astype(np.int64) - 1]
    ys, xs = np.divmod(np.flatnonzero(visible), instances.shape[1])
    for group in np.flatnonzero(shown):
        cls = classes[int(group)]
        if cls < 0:
            continue
        mine = group_of_pixel == group
        rows.append((xs[mine].min(), ys[mine].min(), xs[mine].max() + 1, ys[mine].max() + 1, 1.0, cls))
    return np.array(rows, DETECTION_DTYPE) if rows else np.zeros(0, DETECTION_DTYPE)
