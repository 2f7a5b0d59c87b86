"""Thin ROS 2 nodes: convert message -> call core -> publish."""
