"""Closed-loop simulator logic (pure numpy, no rclpy): world, ego dynamics, LiDAR model, outcome."""
