"""An in-path obstacle whose place goes blind (a blocked LiDAR sector) is braked for as last measured."""

from __future__ import annotations

import numpy as np

from av_edge.core.aeb import AebCore, AebState, Decision
from test.core.test_aeb import CONFIG, MS, scan, wall

SCAN_NS = 100 * MS


def blinded(points: np.ndarray, sector: tuple[float, float]) -> np.ndarray:
    azimuth = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    return points[(azimuth < sector[0]) | (azimuth > sector[1])]


def approach(
    core: AebCore, v: float, gap0: float, blind_from: int, n: int, sector: tuple[float, float]
) -> list[Decision]:
    """A stopped wall closed on at ``v``; from scan ``blind_from`` the LiDAR sees nothing in ``sector``."""
    decisions = []
    for k in range(n):
        now, gap = k * SCAN_NS, gap0 - v * k * SCAN_NS / 1e9
        core.on_odometry(v, 0.0, now)
        points = scan(wall(gap))
        decisions.append(core.on_cloud(blinded(points, sector) if k >= blind_from else points, now, now + 5 * MS))
    return decisions


def test_a_stopped_car_that_goes_blind_is_still_braked_for() -> None:
    v = 13.9  # 50 km/h, a wall 40 m ahead, the forward 60 deg blind from the 6th scan (~32 m)
    decisions = approach(AebCore(CONFIG), v, 40.0, 6, 25, (-30.0, 30.0))
    assert decisions[5].threat.source == "points" and decisions[5].threat.closing_mps > 13.0
    assert all(d.threat.source == "held" for d in decisions[6:12])
    assert any(d.state is AebState.FULL for d in decisions), [d.state for d in decisions]
    held = [d.threat.gap_m for d in decisions[6:12]]
    assert np.allclose(np.diff(held), -v * 0.1, atol=0.05)  # predicted on, at its measured speed


def test_without_a_blockage_an_empty_path_is_empty() -> None:
    """The same wall removed (not hidden): nothing held, nothing braked for."""
    core = AebCore(CONFIG)
    for k in range(10):
        now = k * SCAN_NS
        core.on_odometry(13.9, 0.0, now)
        points = scan(wall(40.0 - 1.39 * k)) if k < 5 else scan(np.zeros((0, 3)))
        decision = core.on_cloud(points, now, now + 5 * MS)
    assert decision.threat.source == "none" and decision.state is AebState.CRUISE


def test_an_unmeasured_obstacle_is_not_held() -> None:
    """Seen on fewer scans than the range rate needs: its motion is unknown, nothing to hold."""
    decisions = approach(AebCore(CONFIG), 13.9, 40.0, 2, 6, (-30.0, 30.0))
    assert all(d.threat.source != "held" for d in decisions)
