"""One fusion step: the object list of a scan plus the detections of the cameras collected for it ->
classes and confidences, per-camera success, and camera/LiDAR disagreement events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded
from av_edge.core.detection.boxes import iou_matrix
from av_edge.core.detection.evaluation import xyxy
from av_edge.core.diagnostics import Level, Status, fmt
from av_edge.core.fusion.associate import EgoMotion, box_corners, camera_votes, classify, project_objects
from av_edge.core.fusion.calibration import CameraCalibration
from av_edge.core.fusion.camera_objects import (
    CameraObjectsConfig,
    CameraTracker,
    Ranged,
    ground_points,
    merge,
    ranged_detections,
)
from av_edge.core.objects import CLASSES


@dataclass(frozen=True)
class DisagreementConfig:
    camera_min_score: float = bounded(0.0, 1.0, "a camera-only object must be this confident")
    corridor_half_width_m: float = bounded(
        0.5, 10.0, "m, half width of the corridor ahead that disagreement events watch"
    )
    max_range_m: float = bounded(5.0, 200.0, "m, farthest disagreement events look")
    lidar_min_height_m: float = bounded(0.1, 5.0, "a LiDAR-only object must be this tall")
    daylight_min_brightness: float = bounded(0.0, 255.0, "mean image level; darker: no LiDAR-only events")
    min_interval_s: float = bounded(0.0, 3600.0, "per kind")


@dataclass(frozen=True)
class FusionConfig:
    disagreement: DisagreementConfig
    camera_objects: CameraObjectsConfig
    tolerance_s: float = bounded(0.0, 0.5, "camera and LiDAR stamps this close belong together")
    timeout_s: float = bounded(0.0, 1.0, "the object list waits at most this for camera detections")
    stale_s: float = bounded(0.05, 10.0, "a camera silent this long is not waited for")
    min_iou: float = bounded(0.0, 1.0, "camera box vs projected LiDAR box overlap needed to associate")
    min_vote: float = bounded(0.0, 1.0, "score x IoU needed to give an object a class")
    class_memory: float = bounded(0.0, 1.0, "per-frame decay of a track's accumulated class votes")
    lidar_silent_s: float = bounded(
        0.05, 10.0, "no scan for this long: each camera batch makes an object list of its own (camera-only objects)"
    )


@dataclass(frozen=True)
class CameraInput:
    stamp_ns: int
    detections: np.ndarray  # DETECTION_DTYPE
    brightness: float  # mean grey level of the image
    size: tuple[int, int] | None = None  # the image's width, height (None: not known)


def class_map(model_classes: tuple[str, ...]) -> np.ndarray:
    """Model class index -> object-list class id (by name; unknown names -> 0)."""
    return np.array([CLASSES.index(n) if n in CLASSES else 0 for n in model_classes], int)


class Fuser:
    def __init__(self, config: FusionConfig, model_classes: tuple[str, ...]) -> None:
        self.config = config
        self.model_classes = model_classes
        self.to_object_class = class_map(model_classes)
        self._last_event_ns: dict[str, int] = {}
        self._track_votes: dict[int, np.ndarray] = {}
        self.camera_tracker = CameraTracker(config.camera_objects)

    def fuse(
        self,
        objects: np.ndarray,
        stamp_ns: int,
        cameras: Mapping[str, tuple[CameraCalibration, CameraInput]],
        ego: EgoMotion,
    ) -> tuple[np.ndarray, dict[str, int], list[Status]]:
        """Objects with class_id/class_score from the cameras (and camera-only objects after them),
        matched objects per camera, events."""
        fused = objects.copy()
        votes = np.zeros((len(objects), len(self.model_classes)))
        matched: dict[str, int] = {}
        seen_by = np.zeros(len(objects), bool)
        daylight = False
        events: list[Status] = []
        ranged: list[Ranged] = []
        for name, (calibration, frame) in cameras.items():
            dt = (frame.stamp_ns - stamp_ns) / 1e9
            boxes, visible = project_objects(box_corners(objects, dt, ego), calibration)
            cam_votes = camera_votes(boxes, visible, frame.detections, len(self.model_classes), self.config.min_iou)
            votes += cam_votes
            matched[name] = int(np.count_nonzero(cam_votes.sum(axis=1)))
            seen_by |= visible
            lit = frame.brightness >= self.config.disagreement.daylight_min_brightness
            daylight |= lit
            events += self._camera_only(name, calibration, frame, boxes, visible, stamp_ns)
            if self.config.camera_objects.enabled:
                alone = ~explained(frame.detections, boxes, visible, self.config.min_iou)
                ranged += ranged_detections(
                    frame.detections[alone], calibration, self.model_classes, self.config.camera_objects
                )
        votes = self._track_history(objects["track_id"], votes)
        best, confidence = classify(votes, self.config.min_vote)
        has_class = best >= 0
        fused["class_id"][has_class] = self.to_object_class[best[has_class]]
        fused["class_score"] = confidence.astype(np.float32)
        if daylight:
            events += self._lidar_only(fused, seen_by, has_class, stamp_ns)
        if self.config.camera_objects.enabled and cameras:
            found = merge(ranged, self.config.camera_objects.merge_m)
            fused = np.concatenate([fused, self.camera_tracker.update(found, stamp_ns, ego.speed_mps, ego.yaw_rate)])
        return fused, matched, events

    def _track_history(self, track_ids: np.ndarray, votes: np.ndarray) -> np.ndarray:
        """Votes of tracked objects accumulated over their past frames (decayed by ``class_memory``
        a frame): a frame where the camera misses a far pedestrian does not make it "unknown"."""
        memory = self.config.class_memory
        history: dict[int, np.ndarray] = {}
        out = votes.copy()
        for k, track in enumerate(track_ids.tolist()):
            if track == 0:
                continue
            previous = self._track_votes.get(track)
            if previous is not None:
                out[k] += memory * previous
            history[track] = out[k]
        self._track_votes = history  # tracks not in this list are gone
        return out

    def _camera_only(
        self,
        camera: str,
        calibration: CameraCalibration,
        frame: CameraInput,
        boxes: np.ndarray,
        visible: np.ndarray,
        stamp_ns: int,
    ) -> list[Status]:
        """Confident detections standing in the ego corridor with no projected object overlapping them."""
        cfg = self.config.disagreement
        found = frame.detections[frame.detections["score"] >= cfg.camera_min_score]
        if found.size == 0:
            return []
        ground = ground_points(found, calibration)
        in_path = (
            (np.abs(ground[:, 1]) <= cfg.corridor_half_width_m) & (ground[:, 0] > 0) & (ground[:, 0] <= cfg.max_range_m)
        )
        in_path &= ~explained(found, boxes, visible, self.config.min_iou)
        if not in_path.any():
            return []
        k = int(np.flatnonzero(in_path)[0])
        name = self.model_classes[int(found["class_id"][k])] if found["class_id"][k] < len(self.model_classes) else "?"
        return self._event(
            "camera_only_disagreement",
            stamp_ns,
            f"{camera} sees a {name} ({found['score'][k]:.2f}) in the path that LiDAR does not",
            {"camera": camera, "x_m": fmt(ground[k, 0]), "y_m": fmt(ground[k, 1]), "class": name},
        )

    def _lidar_only(self, objects: np.ndarray, seen: np.ndarray, explained: np.ndarray, stamp_ns: int) -> list[Status]:
        """A tall in-path LiDAR object a camera sees in daylight, with no detection explaining it."""
        cfg = self.config.disagreement
        in_path = (
            (np.abs(objects["y"]) <= cfg.corridor_half_width_m + objects["width"] / 2)
            & (objects["x"] > 0)
            & (objects["x"] <= cfg.max_range_m)
            & (objects["height"] >= cfg.lidar_min_height_m)
            & seen
            & ~explained
        )
        if not in_path.any():
            return []
        k = int(np.flatnonzero(in_path)[np.argmin(objects["x"][in_path])])
        return self._event(
            "lidar_only_disagreement",
            stamp_ns,
            f"in-path LiDAR object {objects['x'][k]:.1f} m ahead, {objects['height'][k]:.1f} m tall: "
            "no camera explains it",
            {"x_m": fmt(objects["x"][k]), "y_m": fmt(objects["y"][k]), "track_id": str(int(objects["track_id"][k]))},
        )

    def _event(self, kind: str, stamp_ns: int, message: str, values: dict[str, str]) -> list[Status]:
        last = self._last_event_ns.get(kind)
        if last is not None and stamp_ns - last < self.config.disagreement.min_interval_s * 1e9:
            return []
        self._last_event_ns[kind] = stamp_ns
        return [Status(Level.WARN, f"fusion/{kind}", message, "fusion", values)]


def explained(detections: np.ndarray, boxes: np.ndarray, visible: np.ndarray, min_iou: float) -> np.ndarray:
    """Mask of detections a visible projected object box overlaps (IoU >= half the association's)."""
    if not visible.any() or detections.size == 0:
        return np.zeros(detections.size, bool)
    return np.asarray(iou_matrix(xyxy(detections), boxes[visible]).max(axis=1) >= min_iou / 2)
