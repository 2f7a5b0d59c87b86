"""ROS 2 adapters: QoS profiles, message conversion, node start-up. The only place (with nodes/) rclpy appears."""
