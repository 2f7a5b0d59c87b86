"""The object list: one point per object in a ``sensor_msgs/PointCloud2`` (the form planners consume).

Fields (all in base_link, SI units): x, y, z (box centre), length, width, height (the box stands
on the local ground and reaches the highest return: an object partly hidden behind another still
stands on the road), yaw (rad, length axis), vx, vy (velocity over ground, m/s, in base_link axes),
class_id (see ``CLASSES``), score (0..1), track_id (0 = untracked), ax, ay (acceleration over
ground, m/s^2, base_link axes; e.g. a braking lead), class_score (0..1: the cameras' confidence in
class_id; 0 = no camera evidence, class from LiDAR alone), v_sigma (m/s, 1 sigma: how far vx, vy
may be off, from the tracker's covariance; a young track's or a wide face's is large; 0 = not
estimated, and a list without the field decodes with 0), source (``SOURCE_LIDAR``: a LiDAR object,
its class perhaps from the cameras; ``SOURCE_CAMERA``: seen by the cameras alone, ranged where its
box meets the road; a list without the field decodes as LiDAR), standing (0..1: the share of the
object's returns that lie where returns lay 0.3 s before, in odom; 1 = it has not
moved, whatever its track's velocity says; 0 = it moved, came into view, or not known, as in a list
without the field).
``score`` stays the existence/track confidence (0.5 new, 0.7 confirmed, 0.9 mature).
"""

from __future__ import annotations

import numpy as np

from av_edge.core.errors import InvalidObjectsError, MissingFieldError
from av_edge.core.pointcloud import CloudBuffer, PointCloud2Like, array_to_cloud, cloud_to_array

CLASSES = ("unknown", "car", "truck", "pedestrian", "cyclist")
#: ``score``: how far a track has come. Tentative (one scan), confirmed (``confirm_hits``), mature
#: (``mature_hits``: velocity trusted; the AEB's ``objects.min_score`` sits between the last two).
TENTATIVE_SCORE, CONFIRMED_SCORE, MATURE_SCORE = 0.5, 0.7, 0.9
MAX_VALUE = 1e4  # no field of a real object (m, m/s, m/s^2, rad, scores) comes near this

OBJECT_DTYPE = np.dtype(
    [
        ("x", "<f4"),
        ("y", "<f4"),
        ("z", "<f4"),
        ("length", "<f4"),
        ("width", "<f4"),
        ("height", "<f4"),
        ("yaw", "<f4"),
        ("vx", "<f4"),
        ("vy", "<f4"),
        ("class_id", "<u4"),  # 4 bytes, like every field: each one aligned for any reader
        ("score", "<f4"),
        ("track_id", "<u4"),
        ("ax", "<f4"),
        ("ay", "<f4"),
        ("class_score", "<f4"),
        ("v_sigma", "<f4"),
        ("source", "<u4"),
        ("standing", "<f4"),
    ]
)
OPTIONAL_FIELDS = frozenset({"v_sigma", "source", "standing"})  # added later: lists recorded before still decode (as 0)
SOURCE_LIDAR, SOURCE_CAMERA = 0, 1


def encode_objects(objects: np.ndarray) -> CloudBuffer:
    """Object array (``OBJECT_DTYPE``) -> PointCloud2 body."""
    return array_to_cloud(np.asarray(objects, dtype=OBJECT_DTYPE))


def decode_objects(msg: PointCloud2Like) -> np.ndarray:
    """PointCloud2 object list -> ``OBJECT_DTYPE`` array; fields may come in any order or layout.

    A float field with a NaN, inf or a magnitude beyond ``MAX_VALUE`` rejects the whole list
    (:class:`InvalidObjectsError`): one corrupt object means the publisher cannot be trusted."""
    source = cloud_to_array(msg).reshape(-1)
    present = set(source.dtype.names or ())
    missing = set(OBJECT_DTYPE.names or ()) - present - OPTIONAL_FIELDS
    if missing:
        raise MissingFieldError(f"object list lacks fields {sorted(missing)}")
    objects = np.zeros(source.shape[0], dtype=OBJECT_DTYPE)
    for name in present & set(OBJECT_DTYPE.names or ()):
        values = source[name]
        if values.dtype.kind == "f" and not np.all(np.abs(values) <= MAX_VALUE):  # NaN fails too
            raise InvalidObjectsError(f"object list field {name} holds non-finite or out-of-range values")
        with np.errstate(invalid="ignore", over="ignore"):
            objects[name] = values
    return objects
