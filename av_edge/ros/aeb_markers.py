"""What the AEB sees, for RViz and Foxglove: its corridor along the predicted path (coloured by
state), the obstacle it brakes for, and a label with state, TTC and gap. Built only while someone
subscribes, after the brake command is out."""

from __future__ import annotations

import math

import numpy as np
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from av_edge.core.aeb import AebCore, AebState, Decision
from av_edge.core.aeb.path import corridor_outline
from av_edge.core.aeb.threat import as_path, corridor_half_width
from av_edge.ros.messages import header

STATE_COLOURS = {
    AebState.CRUISE: (0.2, 0.8, 0.2),
    AebState.WARNING: (1.0, 0.85, 0.0),
    AebState.PARTIAL: (1.0, 0.5, 0.0),
    AebState.FULL: (1.0, 0.0, 0.0),
}


def aeb_markers(core: AebCore, decision: Decision) -> MarkerArray:
    cfg = core.config
    head = header(decision.stamp_ns, "base_link")
    path = as_path(core.path(decision.stamp_ns))
    front, half = cfg.vehicle.front_overhang_m, corridor_half_width(cfg.vehicle, cfg.corridor)
    outline = corridor_outline(path, front, cfg.corridor.max_range_m, half, step_m=2.0)
    r, g, b = STATE_COLOURS.get(decision.state, (0.8, 0.0, 0.8))  # hold at standstill: magenta
    corridor = Marker(header=head, ns="aeb/corridor", id=0, type=Marker.LINE_STRIP, action=Marker.ADD)
    corridor.pose.orientation.w = 1.0
    corridor.scale.x = 0.1
    corridor.color = ColorRGBA(r=r, g=g, b=b, a=0.9)
    corridor.points = [Point(x=float(x), y=float(y), z=0.05) for x, y in np.vstack([outline, outline[:1]])]
    t = decision.threat
    label = f"{decision.state.value}  {decision.speed_mps * 3.6:.0f} km/h"
    if math.isfinite(t.gap_m):
        label += f"\n{t.source}: gap {t.gap_m:.1f} m, TTC {t.ttc_s:.1f} s, needs {t.required_decel_mps2:.1f} m/s²"
    text = Marker(header=head, ns="aeb/state", id=0, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, text=label)
    text.pose.position.z, text.pose.orientation.w = 2.5, 1.0
    text.scale.z = 0.6
    text.color = ColorRGBA(r=r, g=g, b=b, a=1.0)
    markers = [corridor, text]
    obstacle = Marker(header=head, ns="aeb/obstacle", id=0, type=Marker.CYLINDER)
    if t.source in ("points", "held") and math.isfinite(t.gap_m):
        ((x, y),) = path.points(np.array([front + t.gap_m]))
        obstacle.action = Marker.ADD
        obstacle.pose.position = Point(x=float(x), y=float(y), z=0.5)
        obstacle.pose.orientation.w = 1.0
        obstacle.scale = Vector3(x=0.6, y=0.6, z=1.0)
        obstacle.color = ColorRGBA(r=1.0, g=0.0, b=0.0, a=0.8)
    else:
        obstacle.action = Marker.DELETE
    markers.append(obstacle)
    return MarkerArray(markers=markers)
