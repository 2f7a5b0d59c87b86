"""Static evidence from returns: a cluster standing where returns lay before, whatever its track says."""

from __future__ import annotations

import numpy as np

from av_edge.core.perception.standing import StandingCheck, StandingConfig

CONFIG = StandingConfig(baseline_s=0.3, cell_m=0.15, range_m=60.0)
SCAN_NS = 100_000_000


def face(x: float, y0: float, y1: float, n: int = 40, seed: int = 0) -> np.ndarray:
    """A car's rear face across the road: returns along y at range x, with 5 cm noise."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.full(n, x), np.linspace(y0, y1, n)]) + rng.normal(0.0, 0.05, (n, 2))


def run(frames: list[tuple[np.ndarray, np.ndarray]], check: StandingCheck | None = None) -> list[np.ndarray]:
    """Feed (points, one velocity per cluster) per scan, every point in cluster 0; the results."""
    check = check or StandingCheck(CONFIG)
    out = []
    for k, (xy, velocity) in enumerate(frames):
        out.append(check.update(xy.T, np.zeros(xy.shape[0], dtype=np.intp), velocity, (0.0, 0.0), k * SCAN_NS))
    return out


def test_a_face_that_stays_put_stands_though_its_track_says_it_crosses() -> None:
    crossing = np.array([[0.0, 2.0]])  # its anchor slid: 2 m/s across the road
    frames = [(face(30.0, -4.0, -2.2, seed=k), crossing) for k in range(6)]
    shares = run(frames)
    assert all(s[0] == 0.0 for s in shares[:3])  # no scan 0.3 s old yet: no evidence
    assert all(s[0] > 0.9 for s in shares[3:])


def test_a_walker_that_moves_as_tracked_does_not_stand() -> None:
    velocity = np.array([[0.0, 1.4]])
    frames = [(face(30.0, -4.0 + 0.14 * k, -3.6 + 0.14 * k, n=12, seed=k), velocity) for k in range(6)]
    assert all(s[0] == 0.0 for s in run(frames))


def test_a_long_object_moving_slowly_along_itself_is_explained_better_by_its_velocity() -> None:
    # A car crossing at a junction at 1.5 m/s overlaps its old place, but its ends move as tracked.
    velocity = np.array([[0.0, 1.5]])
    frames = [(face(30.0, -6.0 + 0.15 * k, -1.5 + 0.15 * k, n=90, seed=k), velocity) for k in range(6)]
    assert all(s[0] == 0.0 for s in run(frames))


def test_nothing_was_there_before_means_no_evidence() -> None:
    # A child stepping out where no return lay (behind a parked car): not standing.
    still = np.zeros((1, 2))
    frames = [(face(30.0, 5.0, 6.0, seed=k), still) for k in range(4)] + [(face(30.0, -4.0, -3.6), still)]
    assert run(frames)[-1][0] == 0.0


def test_time_going_back_forgets_the_older_scans() -> None:
    check = StandingCheck(CONFIG)
    still = np.zeros((1, 2))
    run([(face(30.0, -4.0, -2.2), still)] * 5, check)
    labels = np.zeros(40, dtype=np.intp)
    assert check.update(face(30.0, -4.0, -2.2).T, labels, still, (0.0, 0.0), 0)[0] == 0.0


def test_unclustered_returns_and_empty_clusters_are_harmless() -> None:
    check = StandingCheck(CONFIG)
    xy = face(30.0, -4.0, -2.2)
    labels = np.full(xy.shape[0], -1, dtype=np.intp)
    velocity = np.zeros((2, 2))
    for k in range(5):
        shares = check.update(xy.T, labels, velocity, (0.0, 0.0), k * SCAN_NS)
    assert shares.shape == (2,) and not shares.any()
