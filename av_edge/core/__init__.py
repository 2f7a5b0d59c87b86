"""Pure logic: numpy in, numpy out. No rclpy, no clocks, no sleeps; time arrives as ``now_ns``."""
