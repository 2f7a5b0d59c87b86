"""A suite recording replayed by `av-edge replay` into a separately started aeb_node reproduces its decisions."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from av_edge import processes, topics
from av_edge.ros.messages import stamp_to_ns
from av_edge.ros.probe import VehicleProbe
from av_edge.suite.bag import BagRecorder, read_bag
from av_edge.suite.lockstep import run_lockstep
from av_edge.suite.stack import StackConfig
from test.sim.test_scenario import BY_NAME


def test_replayed_bag_reproduces_the_brake_decisions(dds_domain: int, tmp_path: Path) -> None:
    bag = tmp_path / "run"
    with BagRecorder(bag) as recorder:
        run_lockstep(BY_NAME["lead_stopped_30kmh_100pct"], StackConfig.load(), recorder)
    recorded = {
        stamp_to_ns(msg.header.stamp): msg.accel.linear.x for _, _, msg in read_bag(bag, {topics.BRAKE_COMMAND.name})
    }
    env = processes.dds_environment(dds_domain)
    log = tmp_path / "aeb_node.log"
    aeb = processes.start(processes.node_command("aeb_node", ["use_sim_time:=true"]), env, log)
    probe = VehicleProbe(dds_domain)
    try:
        assert probe.wait_for_aeb(30.0), log.read_text()
        inputs = [topics.LIDAR_POINTS.name, topics.ODOMETRY.name, topics.OBJECTS.name]
        subprocess.run(
            [sys.executable, "-m", "av_edge.cli", "replay", str(bag), "--topics", *inputs],
            env=env,
            check=True,
            timeout=120,
        )
        deadline = time.monotonic() + 5.0  # the answers to the last scans are still on their way
        while len({b.stamp_ns for b in probe.brakes}) < len(recorded) and time.monotonic() < deadline:
            time.sleep(0.05)
        replayed = {b.stamp_ns: b.accel_mps2 for b in probe.brakes}
        # Scans go best effort: one the middleware drops is no decision of the AEB's, but it must be
        # one the node counted as lost in transport (its /diagnostics, sent each second).
        missing = sorted(set(recorded) - set(replayed))
        lost = 0
        deadline = time.monotonic() + 3.0
        while missing and lost < len(missing) and time.monotonic() < deadline:
            lost = int((probe.latest_diagnostic_values("av_edge: aeb") or {}).get("lost.point cloud", "0"))
            time.sleep(0.1)
    finally:
        probe.close()
        processes.stop(aeb)
    assert recorded and any(a < 0 for a in recorded.values()), "the recording must contain braking"
    assert len(missing) <= lost, f"unanswered scans {missing}, {lost} lost in transport:\n{log.read_text()[-3000:]}"
    assert replayed == {stamp: recorded[stamp] for stamp in recorded if stamp not in missing}, log.read_text()[-3000:]
