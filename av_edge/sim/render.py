"""Camera images of the simulated scene, drawn with OpenCV: sky, road and lane markings, shaded box
faces (painter's algorithm, clipped at the near plane), day or night (dark, lit by a headlight cone).

Meant for closed-loop tests and synthetic training data, not photorealism.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from av_edge.core.camera import CameraConfig, project
from av_edge.core.geometry import pose_matrix
from av_edge.sim.road import Road
from av_edge.sim.world import Box

NEAR_M = 0.2
#: class -> BGR colour of lit faces
COLOURS = {
    "car": (160, 60, 30),
    "truck": (40, 110, 200),
    "cyclist": (40, 160, 40),
    "pedestrian": (70, 50, 140),
    "trench_plate": (90, 90, 90),
    "gantry": (60, 140, 60),
}
NOISE_FRAMES = 4  # distinct sensor-noise frames a renderer cycles through (a frame resent is a frozen camera)
COVERED_BGR = (18, 24, 30)  # a mud-caked lens, before sensor noise
SUN = np.array([0.4, 0.3, 0.87]) / np.linalg.norm([0.4, 0.3, 0.87])
# (quad corner indices into Box.corners(): 0-3 bottom ccw, 4-7 top ccw)
FACES = ((0, 1, 2, 3), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7))


class CameraRenderer:
    def __init__(self, camera: CameraConfig, seed: int, noise_sigma: float = 2.0) -> None:
        self.camera = camera
        self.k = camera.intrinsics()
        self.optical_from_base = camera.optical_from_base()
        rng = np.random.default_rng(seed)
        # A few noise frames made once and cycled: sensor noise without per-frame random draws.
        shape = (camera.height, camera.width, 3)
        self._noise = [
            np.clip(rng.normal(8.0, noise_sigma, shape), 0, 16).astype(np.uint8) for _ in range(NOISE_FRAMES)
        ]
        self._frame = 0
        self._glow: np.ndarray | None = None  # the headlight pattern on a flat road is fixed in the image

    def render(
        self,
        ego: tuple[float, float, float],
        boxes: Sequence[Box],
        road: Road,
        ego_s: float,
        night: bool,
        colours: Mapping[str, tuple[int, int, int]] = COLOURS,
        instances: np.ndarray | None = None,
    ) -> np.ndarray:
        """BGR image for an ego at odom pose ``ego`` (x, y, yaw), ``ego_s`` along ``road``.

        ``colours`` overrides the class colours (domain randomisation); with ``instances`` (a uint16
        image) each box's visible pixels are also painted there with its index + 1 (occlusion-aware
        labels for training data)."""
        cam = self.camera
        optical_from_odom = self._optical_from_odom(ego)
        image = np.empty((cam.height, cam.width, 3), np.uint8)
        horizon = self._horizon_row()
        image[:horizon] = (12, 8, 8) if night else (235, 205, 170)
        image[horizon:] = (22, 22, 22) if night else (95, 95, 100)
        if night:
            cv2.add(image, self._headlight_glow(), dst=image)
        self._lanes(image, optical_from_odom, road, ego_s, night, ego)
        self._boxes(image, optical_from_odom, boxes, night, ego, colours, instances)
        self._frame = (self._frame + 1) % len(self._noise)
        cv2.add(image, self._noise[self._frame], dst=image)
        cv2.subtract(image, (8, 8, 8, 0), dst=image)
        return image

    def covered(self) -> np.ndarray:
        """What a covered (mud-caked, taped-over) lens sends: a uniform dark frame with sensor noise."""
        self._frame = (self._frame + 1) % len(self._noise)
        image = np.full((self.camera.height, self.camera.width, 3), COVERED_BGR, np.uint8)
        cv2.add(image, self._noise[self._frame], dst=image)
        return image

    def _optical_from_odom(self, ego: tuple[float, float, float]) -> np.ndarray:
        return self.optical_from_base @ np.linalg.inv(pose_matrix(ego[0], ego[1], 0.0, 0.0, 0.0, ego[2]))

    def _horizon_row(self) -> int:
        far = self.optical_from_base[:3, :3] @ np.array([1000.0, 0.0, 0.0])
        if far[2] <= 0:
            return 0
        return int(np.clip(project(far[None, :], self.k)[0, 1], 0, self.camera.height))

    def _to_optical(self, transform: np.ndarray, points: np.ndarray) -> np.ndarray:
        return points @ transform[:3, :3].T + transform[:3, 3]

    def _polygon(
        self,
        image: np.ndarray,
        transform: np.ndarray,
        points: np.ndarray,
        colour: tuple[int, ...],
        antialias: bool = True,
    ) -> None:
        clipped = _clip_near(self._to_optical(transform, points))
        if len(clipped) >= 3:
            pixels = np.round(project(clipped, self.k)).astype(np.int32)
            cv2.fillConvexPoly(image, pixels, colour, lineType=cv2.LINE_AA if antialias else cv2.LINE_8)

    def _lanes(
        self,
        image: np.ndarray,
        transform: np.ndarray,
        road: Road,
        ego_s: float,
        night: bool,
        ego: tuple[float, float, float],
    ) -> None:
        """Lane edges (solid) and the centre line (dashed), 80 m ahead, drawn in one fillPoly call."""
        polygons, colours = [], []
        starts = np.arange(math.floor(ego_s / 6) * 6, ego_s + 80, 6.0)
        for d, length in ((1.75, 3.0), (-1.75, 6.0), (5.25, 6.0)):
            for s0 in starts:
                quad = np.array(
                    [
                        [*road.pose(s, d + side)[:2], 0.0]
                        for s, side in ((s0, -0.07), (s0 + length, -0.07), (s0 + length, 0.07), (s0, 0.07))
                    ]
                )
                brightness = self._light(quad.mean(axis=0), ego, night)
                clipped = _clip_near(self._to_optical(transform, quad))
                if brightness > 0.05 and len(clipped) >= 3:
                    polygons.append(np.round(project(clipped, self.k)).astype(np.int32))
                    colours.append(int(230 * brightness))
        for level in sorted(set(colours)):
            cv2.fillPoly(image, [p for p, c in zip(polygons, colours, strict=True) if c == level], (level,) * 3)

    def _boxes(
        self,
        image: np.ndarray,
        transform: np.ndarray,
        boxes: Sequence[Box],
        night: bool,
        ego: tuple[float, float, float],
        colours: Mapping[str, tuple[int, int, int]],
        instances: np.ndarray | None,
    ) -> None:
        camera_odom = np.linalg.inv(transform)[:3, 3]
        faces = []
        for index, box in enumerate(boxes):
            corners = box.corners()
            centre = corners.mean(axis=0)
            base = np.array(colours.get(box.label, (128, 128, 128)), float)
            for face in FACES:
                quad = corners[list(face)]
                normal = np.cross(quad[1] - quad[0], quad[2] - quad[0])
                normal /= np.linalg.norm(normal) + 1e-12
                if np.dot(normal, quad.mean(axis=0) - centre) < 0:
                    normal = -normal
                if np.dot(normal, camera_odom - quad.mean(axis=0)) <= 0:
                    continue  # facing away
                shade = 0.55 + 0.45 * max(float(normal @ SUN), 0.0)
                light = self._light(quad.mean(axis=0), ego, night)
                distance = float(np.linalg.norm(quad.mean(axis=0) - camera_odom))
                colour = tuple(int(c) for c in np.clip(base * shade * light, 0, 255))
                faces.append((distance, index, quad, colour))
        for _, index, quad, colour in sorted(faces, key=lambda f: -f[0]):
            self._polygon(image, transform, quad, colour)
            if instances is not None:
                self._polygon(instances, transform, quad, (index + 1,), antialias=False)

    def _light(self, point: np.ndarray, ego: tuple[float, float, float], night: bool) -> float:
        """1 by day; at night ambient plus the low-beam cone (~20 deg half-angle, ~60 m)."""
        if not night:
            return 1.0
        dx, dy = point[0] - ego[0], point[1] - ego[1]
        distance = math.hypot(dx, dy)
        angle = abs(math.atan2(dy, dx) - ego[2])
        angle = min(angle, 2 * math.pi - angle)
        in_cone = max(0.0, 1.0 - angle / math.radians(20)) * max(0.0, 1.0 - distance / 60.0)
        return 0.12 + 0.88 * in_cone

    def _headlight_glow(self) -> np.ndarray:
        """Low beams on a flat road, as seen by this camera: drawn once, blurred at quarter size."""
        if self._glow is None:
            fan = [(2.0, 0.0, 0.0)] + [
                (45 * math.cos(a), 45 * math.sin(a), 0.0) for a in np.linspace(-math.radians(18), math.radians(18), 9)
            ]
            glow = np.zeros((self.camera.height, self.camera.width, 3), np.uint8)
            self._polygon(glow, self.optical_from_base, np.array(fan), (50, 50, 55))
            small = cv2.resize(glow, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
            self._glow = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3), (self.camera.width, self.camera.height))
        return self._glow


def _clip_near(points: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon (optical frame) against z >= NEAR_M."""
    out = []
    for i in range(len(points)):
        current, following = points[i], points[(i + 1) % len(points)]
        inside_c, inside_f = current[2] >= NEAR_M, following[2] >= NEAR_M
        if inside_c:
            out.append(current)
        if inside_c != inside_f:
            t = (NEAR_M - current[2]) / (following[2] - current[2])
            out.append(current + t * (following - current))
    return np.array(out)
