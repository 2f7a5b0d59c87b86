"""Clip spool and cloud uploader: the file and network side of the clip recorder (no rclpy)."""
