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
from av_edge.core.aeb.threat import Threat, as_path, extents, threat
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
    vx, vy = objects["vx"], objects["vy"]
    ego_path = as_path(path)
    s, d = ego_path.coordinates(np.column_stack([objects["x"] + (vx - ego_speed) * dt_s, objects["y"] + vy * dt_s]))
    heading = ego_path.heading(s)
    along = vx * np.cos(heading) + vy * np.sin(heading)
    lateral = -vx * np.sin(heading) + vy * np.cos(heading)
    # A car or truck is judged where it stands unless it moves sideways faster than its box can
    # slide: as the ego closes in, a parked car's box takes in more of its side (and another camera
    # takes over), which reads as up to ~2.5 m/s towards the path, well outside three frames'
    # scatter. People and cyclists (narrow: little side to take in) are predicted on their velocity;
    # so is a "car" crossing faster (the detector calls a side-on cyclist a car at close range).
    sliding = np.abs(lateral) < np.maximum(config.camera.vehicle_min_lateral_mps, 3.0 * objects["v_sigma"])
    lateral = np.where(np.isin(objects["class_id"], VEHICLE_CLASSES) & sliding, 0.0, lateral)
    reach_s, reach_d = extents(objects)
    closing = ego_speed - along
    gap = s - reach_s - vehicle.front_overhang_m
    sure = (objects["v_sigma"] > 0) & (objects["v_sigma"] <= config.camera.max_sigma_mps)
    usable = sure & (closing > 0.1) & (gap > 0) & np.isfinite(s)
    half_width = vehicle.width_m / 2 + config.corridor.lateral_margin_m
    out = []
    for i in np.flatnonzero(usable):
        t_in = gap[i] / closing[i]
        if t_in > config.objects.max_prediction_s:
            continue
        t_out = t_in + (2 * reach_s[i] + vehicle.front_overhang_m) / closing[i]
        d_in, d_out = d[i] + lateral[i] * t_in, d[i] + lateral[i] * t_out
        reach = half_width + reach_d[i] + config.objects.lateral_sigma_mps * t_in
        if min(d_in, d_out) < reach and max(d_in, d_out) > -reach:
            found = threat("camera", float(gap[i]), ego_speed, float(along[i]), 0.0, config)
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
