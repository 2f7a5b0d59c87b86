"""Fusion class accuracy on day scenarios of the suite: LiDAR perception, the default camera model on the
front camera, and fusion, lock-step against the simulator's ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from av_edge.core.camera import load_rig
from av_edge.core.fusion.associate import box_corners, project_objects
from av_edge.core.fusion.calibration import calibration
from av_edge.core.fusion.fuser import CameraInput, Fuser
from av_edge.core.objects import CLASSES
from av_edge.core.pointcloud import array_to_cloud
from av_edge.detection.detector import CameraDetector
from av_edge.paths import config_file
from av_edge.ros.handlers import PerceptionHandler
from av_edge.ros.messages import cloud_msg
from av_edge.ros.sim_io import odometry
from av_edge.sim.scenario import Scenario
from av_edge.sim.simulation import Simulation
from av_edge.suite.stack import StackConfig

SCAN_NS = 100_000_000
MATCH_M = 2.5
MAX_RANGE_M = 60.0


@dataclass(frozen=True)
class ClassAccuracy:
    correct: int
    total: int
    confusion: dict[tuple[str, str], int]  # (truth, fused) -> frames

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def class_accuracy(scenarios: Sequence[Scenario], stack: StackConfig, camera_name: str = "front") -> ClassAccuracy:
    """Per scan, every perceived object matched to a ground-truth actor of a detector class that the camera
    sees within 60 m counts once; it is right when its fused class is the actor's. "Sees" is the rule of
    the detector's training labels (enough unoccluded pixels over enough rows): a walker whose head
    alone shows over a parked car is a LiDAR object the camera cannot classify."""
    camera = next(c for c in load_rig(config_file("vehicle.yaml")) if c.name == camera_name)
    detector = CameraDetector(stack.perception.camera_detection, lambda _: None)
    classes = detector.package.manifest.class_names
    calib = calibration(camera, camera.intrinsics(), camera.width, camera.height)
    correct = total = 0
    confusion: dict[tuple[str, str], int] = {}
    for scenario in scenarios:
        sim = Simulation(stack.sim, scenario, 0, [camera])
        perception = PerceptionHandler(stack.perception, lambda _: None)
        fuser = Fuser(stack.perception.fusion, classes)
        now = 0
        while not sim.finished(now):
            sim.advance(now)
            perception.on_odometry(odometry(sim, now), now)
            output = perception.on_cloud(cloud_msg(array_to_cloud(sim.capture(now)), now, stack.lidar_frame), now)
            images, visible_pixels = sim.render_visible(now)
            (image,), (shown,) = images.values(), visible_pixels.values()
            if output is not None:
                (found,) = detector.detect([image])
                frame = CameraInput(now, found, float(image[::8, ::8].mean()))
                ego = perception.ego_motion(now)
                fused, _, _ = fuser.fuse(output.frame.objects, now, {camera_name: (calib, frame)}, ego)
                truth = _truth_in_base(sim, now)
                _, visible = project_objects(box_corners(fused, 0.0, ego), calib)
                for k in np.flatnonzero(visible & (fused["x"] <= MAX_RANGE_M)):
                    d = np.hypot(truth["x"] - fused["x"][k], truth["y"] - fused["y"][k])
                    if d.size == 0 or d.min() > MATCH_M:
                        continue
                    if not shown[d.argmin()]:
                        continue  # (all but) hidden from the camera, e.g. behind a parked car
                    want = CLASSES[int(truth["class_id"][d.argmin()])]
                    if want not in classes:
                        continue
                    got = CLASSES[int(fused["class_id"][k])]
                    total += 1
                    correct += got == want
                    confusion[(want, got)] = confusion.get((want, got), 0) + 1
            now += SCAN_NS
    return ClassAccuracy(correct, total, confusion)


def _truth_in_base(sim: Simulation, now_ns: int) -> np.ndarray:
    truth = sim.ground_truth(now_ns).copy()
    state = sim.state()
    c, s = np.cos(state.yaw), np.sin(state.yaw)
    dx, dy = truth["x"] - state.x, truth["y"] - state.y
    truth["x"], truth["y"] = c * dx + s * dy, -s * dx + c * dy
    return truth
