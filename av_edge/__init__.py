"""av_edge: edge inference and emergency braking for automated vehicles.

``av_edge.core`` and ``av_edge.sim`` are pure Python + numpy (no rclpy); ``av_edge.ros`` and
``av_edge.nodes`` are the thin ROS 2 layer around them.
"""

__version__ = "0.1.0"
