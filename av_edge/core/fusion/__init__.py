"""Camera-LiDAR fusion, pure parts: calibration checks, the latency-bounded collector, association."""
