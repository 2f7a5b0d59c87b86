"""Simulator state -> ROS messages, shared by the simulator node and the lock-step suite runner."""

from __future__ import annotations

from nav_msgs.msg import Odometry

from av_edge.ros.messages import odometry_msg
from av_edge.sim.simulation import Simulation


def odometry(sim: Simulation, now_ns: int) -> Odometry:
    """The ego's odometry (pose in odom, speed, yaw rate) at ``now_ns``."""
    state = sim.state()
    return odometry_msg(state.x, state.y, state.yaw, state.speed_mps, state.yaw_rate, now_ns)
