"""The in-path obstacle's speed from the AEB's own range rate."""

from __future__ import annotations

import pytest

from av_edge.core.aeb.motion import InPathMotion, MotionConfig

CONFIG = MotionConfig(window=3, min_samples=3, gate_m=1.5, max_speed_mps=45.0, max_gap_s=0.35)
SCAN_NS = 100_000_000


def _feed(motion: InPathMotion, gaps: list[float | None], ego_speed: float) -> list[float | None]:
    return [motion.update(gap, ego_speed, k * SCAN_NS) for k, gap in enumerate(gaps)]


def test_a_lead_at_the_egos_speed_is_measured_from_the_third_scan() -> None:
    speeds = _feed(InPathMotion(CONFIG), [15.0, 15.0, 15.01, 14.99], ego_speed=25.0)
    assert speeds[:2] == [None, None]  # unknown, not "stationary"
    assert speeds[2] == pytest.approx(25.0, abs=0.2)
    assert speeds[3] == pytest.approx(25.0, abs=0.2)


def test_a_car_sliding_into_the_corridor_is_not_taken_for_a_closing_one() -> None:
    # The corridor's edge runs back along its side: 38.9, 37.2, then the rear is reached.
    speeds = _feed(InPathMotion(CONFIG), [38.85, 37.19, 37.62, 38.04], ego_speed=27.8)
    assert speeds[1] is None  # two scans would have said 11 m/s: closing at 17 m/s
    third = speeds[2]
    assert third is None or third > 20.0  # the third's line: closing at most ~8 m/s, 37 m out


def test_a_stopped_obstacle_closes_at_the_egos_speed() -> None:
    speeds = _feed(InPathMotion(CONFIG), [40.0, 38.0, 36.0], ego_speed=20.0)
    assert speeds[2] == pytest.approx(0.0, abs=1e-6)


def test_a_jump_in_the_gap_is_another_obstacle_and_starts_over() -> None:
    # A lead at 20 m/s moves out and reveals a stopped car 25 m further on.
    speeds = _feed(InPathMotion(CONFIG), [15.0, 15.0, 15.0, 40.0, 38.0, 36.0], ego_speed=20.0)
    assert speeds[2] == pytest.approx(20.0, abs=0.1)
    assert speeds[3] is None and speeds[4] is None
    assert speeds[5] == pytest.approx(0.0, abs=1e-6)


def test_an_obstacle_seen_on_every_other_scan_is_measured() -> None:
    # Debris far ahead: five returns on some scans, fewer on others (a missing measurement).
    speeds = _feed(InPathMotion(CONFIG), [40.0, None, 36.0, None, 32.0], ego_speed=20.0)
    assert speeds[:4] == [None, None, None, None]  # nothing reported on a scan without it
    assert speeds[4] == pytest.approx(0.0, abs=1e-6)


def test_a_path_clear_for_longer_than_max_gap_forgets_the_obstacle() -> None:
    speeds = _feed(InPathMotion(CONFIG), [20.0, 19.0, 18.0, None, None, None, None, 14.0, 13.0], ego_speed=10.0)
    assert speeds[2] == pytest.approx(0.0, abs=1e-6)
    assert speeds[3:7] == [None] * 4
    assert speeds[7] is None and speeds[8] is None  # 0.5 s unseen: a new history
