"""Camera fallback: threats from camera-only objects while the LiDAR is degraded.

With a forward sector blocked or heavy dropout, the points no longer see what the cameras do.
Perception then still lists what its cameras detect alone (``source`` = camera: ranged where the
box meets the road, velocity from the range series). The AEB brakes on such an object only while
its LiDAR is degraded, and conservatively: it counts once ``min_lists`` object lists in a row put
it in the path, asks for at most partial braking until ``full_lists`` have, and never on a velocity
less sure than ``max_sigma_mps``. Otherwise it is judged like any object: in the path (or predicted into it)
while the ego passes, at its speed along the path; a car or truck is judged where it stands
(laterally) unless it moves sideways faster than ``vehicle_min_lateral_mps`` (and 3 sigma).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from av_edge.core.aeb.config import AebConfig
from av_edge.core.aeb.path import EgoPath
from av_edge.core.aeb.threat import Threat, corridor_half_width, in_path_while_passing, path_frame, threat
from av_edge.core.objects import CLASSES

PARTIAL_LEVEL = 2
VEHICLE_CLASSES = (CLASSES.index("car"), CLASSES.index("truck"))


def camera_threats(
    objects: np.ndarray, ego_speed: float, path: EgoPath | float, dt_s: float, config: AebConfig
) -> list[Threat]:
    """Camera-only objects (``objects``, base_link, ``dt_s`` older than now) in the path while the ego
    passes (the caller counts the lists in a row that show each one)."""
    vehicle = config.vehicle
    if objects.size == 0 or ego_speed <= 0.5:
        return []
    frame = path_frame(objects, ego_speed, path, dt_s, vehicle.front_overhang_m)
    # A car or truck is judged where it stands unless it moves sideways faster than its box can
    # slide: as the ego closes in, a parked car's box takes in more of its side (and another camera
    # takes over), which reads as up to ~2.5 m/s towards the path, well outside three frames'
    # scatter. People and cyclists (narrow: little side to take in) are predicted on their velocity;
    # so is a "car" crossing faster (the detector calls a side-on cyclist a car at close range).
    sliding = np.abs(frame.lateral) < np.maximum(config.camera.vehicle_min_lateral_mps, 3.0 * objects["v_sigma"])
    lateral = np.where(np.isin(objects["class_id"], VEHICLE_CLASSES) & sliding, 0.0, frame.lateral)
    sure = (objects["v_sigma"] > 0) & (objects["v_sigma"] <= config.camera.max_sigma_mps)
    usable = sure & (frame.closing > 0.1) & (frame.gap > 0) & np.isfinite(frame.s)
    half_width = corridor_half_width(vehicle, config.corridor)
    out = []
    for i in np.flatnonzero(usable):
        t_in = frame.gap[i] / frame.closing[i]
        if t_in > config.objects.max_prediction_s:
            continue
        reach = half_width + frame.reach_d[i] + config.objects.lateral_sigma_mps * t_in
        if in_path_while_passing(frame, int(i), float(lateral[i]), 0.0, reach, vehicle.front_overhang_m):
            found = threat("camera", float(frame.gap[i]), ego_speed, float(frame.along[i]), 0.0, config)
            out.append(dataclasses.replace(found, track_id=int(objects["track_id"][i])))
    return out


def gated(found: list[Threat], counts: dict[int, int], config: AebConfig) -> list[Threat]:
    """The threats of tracks that were threats on ``min_lists`` lists in a row (``counts``), those on
    fewer than ``full_lists`` capped at partial braking."""
    cfg = config.camera
    out = []
    for t in found:
        n = counts.get(t.track_id, 0)
        if n >= cfg.min_lists:
            out.append(dataclasses.replace(t, max_level=3 if n >= cfg.full_lists else PARTIAL_LEVEL))
    return out
