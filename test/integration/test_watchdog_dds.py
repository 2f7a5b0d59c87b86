"""Killing the LiDAR driver mid-run: aeb_node raises its watchdog ERROR within the configured age."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from av_edge import processes
from av_edge.core.aeb import AebConfig
from av_edge.core.config import build_config
from av_edge.core.vehicle import load_node_params
from av_edge.paths import config_file
from av_edge.ros.probe import VehicleProbe

LIDAR_DRIVER = """
import sys, time
import numpy as np
from av_edge.core.pointcloud import xyz_to_cloud
from av_edge.ros.messages import cloud_msg
from av_edge.ros.probe import VehicleProbe
probe = VehicleProbe(int(sys.argv[1]), "fake_lidar_driver")
# a healthy LiDAR's road returns: 56 beams aimed at the road x 1800 columns (see aeb.params.yaml)
elevation = np.radians(np.linspace(-24.8, -1.4, 56))[:, None]
azimuth = np.radians(np.arange(-180.0, 180.0, 0.2))[None]
reach = 1.9 / np.tan(-elevation)
ground = np.column_stack(
    [(reach * np.cos(azimuth)).ravel(), (reach * np.sin(azimuth)).ravel(), np.full(reach.size * azimuth.size, -1.9)]
).astype(np.float32)
while True:
    probe.publish_cloud(cloud_msg(xyz_to_cloud(ground), 0, "lidar"))
    time.sleep(0.1)
"""


def test_watchdog_error_within_the_configured_age(aeb_node: subprocess.Popen[bytes], dds_domain: int) -> None:
    timeout_s = build_config(
        AebConfig, load_node_params(config_file("aeb.params.yaml"), "aeb_node")
    ).watchdog.lidar_timeout_s
    driver = subprocess.Popen(
        [sys.executable, "-c", LIDAR_DRIVER, str(dds_domain)], env=processes.dds_environment(dds_domain)
    )
    probe = VehicleProbe(dds_domain)
    try:
        assert probe.wait_for_aeb(30.0)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(probe.brakes) < 10:  # the driver's scans are answered
            probe.publish_speed(5.0)
            time.sleep(0.05)
        assert len(probe.brakes) >= 10, "the AEB never answered the driver's scans"
        last_answer_ns = probe.brakes[-1].received_ns
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        killed_ns = probe.now_ns()
        error_ns = None
        while probe.now_ns() - killed_ns < 3e9 and error_ns is None:
            probe.publish_speed(5.0)  # odometry keeps coming: only the LiDAR died
            time.sleep(0.02)
            for received, msg in list(probe.events):
                if received > last_answer_ns and any(
                    s.name == "aeb/watchdog" and s.level == b"\x02" and "point cloud stale" in s.message
                    for s in msg.status
                ):
                    error_ns = received
                    break
        assert error_ns is not None, "no watchdog ERROR after the LiDAR driver was killed"
        last_scan_ns = probe.brakes[-1].stamp_ns
        delay_s = (error_ns - last_scan_ns) / 1e9
        print(f"watchdog ERROR {delay_s:.3f} s after the last scan (configured age {timeout_s} s)")
        assert delay_s <= timeout_s + 0.25, delay_s
        # the telltale is its own topic: it may arrive a little after the event (its receive time counts)
        waited = time.monotonic() + 2.0
        while True:
            telltales = list(probe.telltales)
            unavailable = [t for t, m in telltales if t > killed_ns and m.level == b"\x02" and "lidar" in m.message]
            if unavailable or time.monotonic() > waited:
                break
            time.sleep(0.02)
        assert any(m.message == "available" for t, m in telltales if t < killed_ns)  # while the driver ran
        assert unavailable, [m.message for _, m in telltales]
        telltale_s = (unavailable[0] - last_scan_ns) / 1e9
        print(f"telltale 'unavailable' {telltale_s:.3f} s after the last scan")
        assert telltale_s <= 1.0, telltale_s  # FMVSS No. 127 telltale: within a second
    finally:
        probe.close()
        if driver.poll() is None:
            driver.kill()
