"""Camera-only objects: confident detections no LiDAR object explains, ranged on the ground and tracked.

When the LiDAR is blocked, dead or sparse on an object, the cameras still see it. A detection's
range comes from where its box meets the road: the ray through the bottom-centre pixel, cut with
the ground plane (z = 0 in base_link) through the calibrated camera (intrinsics and lens model from
CameraInfo, pose from the vehicle description). That range is checked against the class's height
prior: the height the box implies at that range must be one the class has (a car's box whose
bottom is hidden would read too far and "too tall"). Ranged detections are tracked in a frame
fixed to the ground (the ego's motion integrated from its speed and yaw rate) by constant-velocity
Kalman filters whose noise is the ranging error (``bottom_px_sigma``: one pixel at the box's bottom
is ~1.2 m at 30 m for a 1.4 m high camera), so a track's velocity over ground comes with how sure
it is (``v_sigma``).

These objects go out in the object list with ``source`` = camera; consumers decide what they trust
them for (the AEB brakes on them only while its LiDAR is degraded).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from av_edge.core.config import bounded
from av_edge.core.fusion.calibration import CameraCalibration
from av_edge.core.objects import CLASSES, CONFIRMED_SCORE, OBJECT_DTYPE, SOURCE_CAMERA, TENTATIVE_SCORE

#: (length, width) of a camera-only object by class. A camera sees a face, not the depth behind it,
#: and a box around an object seen at an angle spans its side too (see ``_lateral_extent``): its
#: width is at most its class's, so a car or cyclist crossing side-on reads narrower than it is
#: and enters the predicted path ~0.15 s later than it does (its lateral speed still carries it in).
CLASS_SIZE_M = {"car": (4.5, 1.9), "truck": (8.0, 2.6), "pedestrian": (0.5, 0.8), "cyclist": (1.8, 0.8)}
SCORE_MEMORY = 10  # frames whose detection scores make a track's class_score
BORDER_PX = 6.0  # a box this close to the image's left, right or bottom edge is cut off: not ranged


@dataclass(frozen=True)
class HeightPrior:
    min_m: float = bounded(0.1, 10.0, "m, the lowest an object of the class stands")
    max_m: float = bounded(0.1, 10.0, "m, the tallest")


@dataclass(frozen=True)
class HeightPriors:
    car: HeightPrior
    truck: HeightPrior
    pedestrian: HeightPrior
    cyclist: HeightPrior


@dataclass(frozen=True)
class CameraObjectsConfig:
    heights: HeightPriors
    enabled: bool = field(metadata={"doc": "publish camera-only objects (source = camera) in the object list"})
    min_score: float = bounded(0.0, 1.0, "a detection must be this confident to become a camera-only object")
    max_range_m: float = bounded(5.0, 200.0, "m, farthest a ground contact is trusted")
    bottom_px_sigma: float = bounded(0.1, 20.0, "px, 1 sigma of a box's bottom edge: sets the range uncertainty")
    merge_m: float = bounded(0.0, 10.0, "m, detections of one class this close (two cameras' overlap) are one")
    gate_m: float = bounded(0.1, 20.0, "m, a detection continues a track whose prediction is this close ...")
    gate_range_share: float = bounded(0.0, 1.0, "... plus this share of its range (ranging error grows with it)")
    min_frames: int = bounded(2, 50, "frames before a track's velocity is given")
    initial_sigma_mps: float = bounded(0.1, 50.0, "m/s, 1 sigma of a new track's velocity (anything it may be)")
    accel_sigma_mps2: float = bounded(0.0, 20.0, "m/s^2, how fast a track's velocity may change (process noise)")
    max_age_s: float = bounded(0.05, 10.0, "s, a track unseen this long is dropped")


@dataclass(frozen=True)
class Ranged:
    """A detection placed on the ground: base_link position, implied size, its class and confidence."""

    x: float
    y: float
    height_m: float
    width_m: float
    class_name: str
    score: float
    range_sigma_m: float  # 1 sigma along the line of sight
    cross_sigma_m: float  # ... and across it
    camera: str = ""
    off_centre: float = 0.0  # the box centre's distance from the image centre column, in half widths


def ranged_detections(
    detections: np.ndarray,
    calibration: CameraCalibration,
    model_classes: tuple[str, ...],
    config: CameraObjectsConfig,
) -> list[Ranged]:
    """Detections (``DETECTION_DTYPE``, image pixels) of known classes placed on the ground, those
    whose implied height fits their class prior and whose range is within ``max_range_m``."""
    keep = detections[detections["score"] >= config.min_score]
    names = [model_classes[c] if 0 <= c < len(model_classes) else "" for c in keep["class_id"].tolist()]
    width_px, height_px = calibration.width, calibration.height
    whole = (keep["x1"] >= BORDER_PX) & (keep["x2"] <= width_px - BORDER_PX) & (keep["y2"] <= height_px - BORDER_PX)
    known = np.array([n in CLASS_SIZE_M for n in names], bool) & whole
    keep, names = keep[known], [n for n, k in zip(names, known, strict=True) if k]
    if keep.size == 0:
        return []
    u = (keep["x1"] + keep["x2"]) / 2
    origin, top = pixel_rays(calibration, np.column_stack([u, keep["y1"]]))
    ground = ground_points(keep, calibration)
    t = np.isfinite(ground[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        horizontal = np.hypot(ground[:, 0] - origin[0], ground[:, 1] - origin[1])
        height = origin[2] + top[:, 2] * horizontal / np.hypot(top[:, 0], top[:, 1])
    y, width = _lateral_extent(keep, calibration, names)
    fy = float(calibration.k[1, 1])
    sigma = config.bottom_px_sigma * horizontal**2 / (fy * origin[2])
    cross = config.bottom_px_sigma * horizontal / float(calibration.k[0, 0])
    off_centre = np.abs(u - calibration.k[0, 2]) / (calibration.width / 2)
    out = []
    for i, name in enumerate(names):
        prior: HeightPrior = getattr(config.heights, name)
        fits = prior.min_m <= height[i] <= prior.max_m
        if t[i] and ground[i, 0] > 0 and horizontal[i] <= config.max_range_m and fits:
            r = Ranged(
                float(ground[i, 0]),
                float(y[i]),
                float(height[i]),
                float(width[i]),
                name,
                float(keep["score"][i]),
                float(sigma[i]),
                float(cross[i]),
                calibration.name,
                float(off_centre[i]),
            )
            out.append(r)
    return out


def _lateral_extent(
    boxes: np.ndarray, calibration: CameraCalibration, names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Lateral centre and width (base_link, m) of each box at its contact depth.

    The box's bottom corners cut with the road sit at the depth of the object's nearest point. For
    an object beside the path, the outer corner is its near face's (right there); the inner one is
    the far end of the side it turns to the camera, so it reads towards the path by up to metres.
    The object is therefore placed from its outer edge, no wider than its class. A box spanning
    the path's axis shows a face: both corners hold."""
    y1 = ground_at(boxes["x1"], boxes["y2"], calibration)[:, 1]
    y2 = ground_at(boxes["x2"], boxes["y2"], calibration)[:, 1]
    with np.errstate(invalid="ignore"):  # a ray that never meets the road (+inf both sides): NaN, handled below
        measured = np.abs(y1 - y2)
    width = np.minimum(measured, [CLASS_SIZE_M[n][1] for n in names])
    outer = np.where(np.abs(y1) > np.abs(y2), y1, y2)
    beside = np.sign(y1) == np.sign(y2)
    centre = np.where(beside, outer - np.sign(outer) * width / 2, (y1 + y2) / 2)
    return np.where(np.isfinite(centre), centre, np.inf), width


def ground_points(detections: np.ndarray, calibration: CameraCalibration) -> np.ndarray:
    """(N, 2) base_link ground positions of the boxes' bottom centres (flat road z = 0); rays that do
    not reach the ground ahead give +inf."""
    return ground_at((detections["x1"] + detections["x2"]) / 2, detections["y2"], calibration)


def ground_at(u: np.ndarray, v: np.ndarray, calibration: CameraCalibration) -> np.ndarray:
    """(N, 2) base_link points where the rays through pixels (u, v) meet the road (z = 0); +inf where
    they do not reach it ahead."""
    origin, rays = pixel_rays(calibration, np.column_stack([u, v]))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rays[:, 2] < -1e-6, -origin[2] / rays[:, 2], np.inf)
    points = origin[:2] + rays[:, :2] * t[:, None]
    points[~np.isfinite(t)] = np.inf
    return np.asarray(points)


def pixel_rays(calibration: CameraCalibration, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera centre and the (N, 3) base_link directions of ``pixels`` (through the lens model)."""
    if calibration.distortion.size:
        normalised = cv2.undistortPoints(
            pixels.reshape(-1, 1, 2).astype(np.float64), calibration.k, calibration.distortion
        )
        xy = normalised.reshape(-1, 2)
    else:
        xy = (pixels - calibration.k[:2, 2]) / np.diag(calibration.k)[:2]
    rotation = calibration.optical_from_base[:3, :3]
    origin = -rotation.T @ calibration.optical_from_base[:3, 3]
    rays = np.column_stack([xy, np.ones(len(xy))]) @ rotation  # rotation.T @ each ray
    return origin, rays


def merge(found: list[Ranged], merge_m: float) -> list[Ranged]:
    """One detection per object where cameras overlap, whatever their classes (two cameras may name a
    side-on cyclist differently): of those within ``merge_m``, the one nearest its image's centre
    (least cut off, least distorted), so an object passes from one camera to the next once."""
    kept: list[Ranged] = []
    for r in sorted(found, key=lambda r: (r.off_centre, -r.score)):
        if all(math.hypot(k.x - r.x, k.y - r.y) > merge_m for k in kept):
            kept.append(r)
    return kept


@dataclass
class _Track:
    """A constant-velocity Kalman filter over ground: state (x, y, vx, vy), its covariance."""

    track_id: int
    class_name: str
    state: np.ndarray  # (4,) ground-fixed frame
    cov: np.ndarray  # (4, 4)
    t: float  # s, of the last update
    last: Ranged  # the last detection (its camera measured the position)
    updates: int = 1
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=SCORE_MEMORY))
    votes: dict[str, float] = field(default_factory=dict)  # class -> summed detection scores

    def predicted(self, t: float) -> np.ndarray:
        return self.state[:2] + self.state[2:] * (t - self.t)


class CameraTracker:
    """Camera-only detections tracked over ground: ``update`` once per object list.

    Each track is a constant-velocity Kalman filter whose measurement noise is the ranging error
    along the line of sight (growing with the square of the range) and the pixel error across it:
    a far car's velocity settles over many frames, a near cyclist setting off is followed at once
    (``accel_sigma_mps2``: how fast a velocity may change)."""

    ID_BASE = 1 << 31  # camera-only track ids: apart from the LiDAR tracker's (which count from 1)

    def __init__(self, config: CameraObjectsConfig) -> None:
        self.config = config
        self._pose = (0.0, 0.0, 0.0)  # base_link in the ground-fixed frame
        self._stamp_ns: int | None = None
        self._tracks: list[_Track] = []
        self._next_id = self.ID_BASE

    def update(self, found: list[Ranged], stamp_ns: int, speed_mps: float, yaw_rate: float) -> np.ndarray:
        """The camera-only objects (``OBJECT_DTYPE``, base_link) after this list's detections."""
        cfg = self.config
        self._move(stamp_ns, speed_mps, yaw_rate)
        t = stamp_ns / 1e9
        self._tracks = [k for k in self._tracks if t - k.t <= cfg.max_age_s]
        free = list(self._tracks)
        for r in sorted(found, key=lambda r: r.x):
            position, noise = self._measurement(r)
            track = self._nearest(free, r, position, t)
            if track is None:
                cov = np.zeros((4, 4))
                cov[:2, :2], cov[2:, 2:] = noise, np.eye(2) * cfg.initial_sigma_mps**2
                track = _Track(self._next_id, r.class_name, np.r_[position, 0.0, 0.0], cov, t, r)
                self._next_id += 1
                self._tracks.append(track)
            else:
                free.remove(track)
                self._filter(track, position, noise, t, anchor=r.camera != track.last.camera)
            track.last = r
            track.scores.append(r.score)
            track.votes[r.class_name] = track.votes.get(r.class_name, 0.0) + r.score
            track.class_name = max(track.votes, key=lambda c: track.votes[c])
        return self._objects([k for k in self._tracks if k.t == t])

    def _move(self, stamp_ns: int, speed: float, yaw_rate: float) -> None:
        if self._stamp_ns is not None and stamp_ns > self._stamp_ns:
            dt = (stamp_ns - self._stamp_ns) / 1e9
            x, y, yaw = self._pose
            mid = yaw + yaw_rate * dt / 2
            self._pose = (x + speed * math.cos(mid) * dt, y + speed * math.sin(mid) * dt, yaw + yaw_rate * dt)
        self._stamp_ns = stamp_ns if self._stamp_ns is None else max(self._stamp_ns, stamp_ns)

    def _measurement(self, r: Ranged) -> tuple[np.ndarray, np.ndarray]:
        """The detection's ground-frame position and its 2x2 noise: range error along the line of
        sight, pixel error across it."""
        px, py, yaw = self._pose
        c, s = math.cos(yaw), math.sin(yaw)
        rotation = np.array([[c, -s], [s, c]])
        position = np.array([px, py]) + rotation @ np.array([r.x, r.y])
        bearing = math.atan2(r.y, r.x) + yaw
        along = np.array([math.cos(bearing), math.sin(bearing)])
        across = np.array([-along[1], along[0]])
        noise = r.range_sigma_m**2 * np.outer(along, along) + r.cross_sigma_m**2 * np.outer(across, across)
        return position, noise

    def _nearest(self, tracks: list[_Track], r: Ranged, position: np.ndarray, t: float) -> _Track | None:
        gate = self.config.gate_m + self.config.gate_range_share * math.hypot(r.x, r.y)
        best, best_d = None, gate
        for k in tracks:  # whatever the class: a side-on cyclist flickers between "cyclist" and "car"
            d = float(np.hypot(*(position - k.predicted(t))))
            if d <= best_d:
                best, best_d = k, d
        return best

    def _filter(self, track: _Track, position: np.ndarray, noise: np.ndarray, t: float, anchor: bool) -> None:
        """Predict to ``t`` and update with the measurement; with ``anchor`` (another camera measured
        it: its ranging bias differs, so the jump between the two is no motion) the measurement only
        sets the position and the velocity is kept."""
        dt = t - track.t
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = self.config.accel_sigma_mps2**2 * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
        state, cov = f @ track.state, f @ track.cov @ f.T + np.kron(q, np.eye(2))
        track.t, track.updates = t, track.updates + 1
        if anchor:
            state[:2], cov[:2, :2], cov[:2, 2:], cov[2:, :2] = position, noise, 0.0, 0.0
            track.state, track.cov = state, cov
            return
        innovation_cov = cov[:2, :2] + noise
        gain = cov[:, :2] @ np.linalg.inv(innovation_cov)
        track.state = state + gain @ (position - state[:2])
        track.cov = cov - gain @ cov[:2, :]

    def _objects(self, tracks: list[_Track]) -> np.ndarray:
        out = np.zeros(len(tracks), dtype=OBJECT_DTYPE)
        px, py, yaw = self._pose
        c, s = math.cos(yaw), math.sin(yaw)
        for row, k in zip(out, tracks, strict=True):
            r = k.last
            length = CLASS_SIZE_M[k.class_name][0]
            dx, dy = k.state[0] - px, k.state[1] - py  # the filtered ground contact into base_link
            row["x"], row["y"], row["z"] = c * dx + s * dy + length / 2, -s * dx + c * dy, r.height_m / 2
            row["length"], row["width"], row["height"] = length, r.width_m, r.height_m
            known = k.updates >= self.config.min_frames
            if known:  # ground velocity into base_link axes; v_sigma the rms of the two axes
                vx, vy = k.state[2:]
                row["vx"], row["vy"] = c * vx + s * vy, -s * vx + c * vy
                row["v_sigma"] = max(math.sqrt((k.cov[2, 2] + k.cov[3, 3]) / 2), 1e-3)
            row["class_id"] = CLASSES.index(k.class_name)
            row["class_score"] = float(np.mean(k.scores))
            row["score"] = CONFIRMED_SCORE if known else TENTATIVE_SCORE
            row["track_id"] = k.track_id
            row["source"] = SOURCE_CAMERA
        return out
