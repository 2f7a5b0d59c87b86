#!/bin/sh
# The ROS environment and av_edge's install, then the command (ros2 launch by default).
set -eu
. "/opt/ros/${ROS_DISTRO:?the ROS base image sets ROS_DISTRO}/setup.sh"
. /opt/av_edge/setup.sh
exec "$@"
