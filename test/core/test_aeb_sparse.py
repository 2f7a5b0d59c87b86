"""Low or far debris: a standing obstacle with fewer returns than one scan needs is believed over scans."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from av_edge.core.aeb import AebCore, AebState
from av_edge.core.aeb.sparse import SparseObstacle
from av_edge.core.aeb.staging import BRAKING
from av_edge.core.aeb.threat import Obstacle, corridor_mask
from test.core.test_aeb import CONFIG, MS, V, scan

SPEED = 22.0  # m/s, 80 km/h


def debris(gap_m: float, n: int = 3, lateral_m: float = 0.0, spread_m: float = 0.2) -> np.ndarray:
    """``n`` base_link returns of a low object ``gap_m`` ahead of the bumper, 0.2-0.3 m above the road."""
    x = V.front_overhang_m + gap_m + np.linspace(0.0, spread_m, n)
    return np.column_stack([x, np.full(n, lateral_m), np.linspace(0.2, 0.3, n)])


def feed(
    sparse: SparseObstacle, clouds: list[np.ndarray], speed: float = SPEED, nearest: float = math.inf
) -> list[tuple[Obstacle, float] | None]:
    out = []
    for i, points in enumerate(clouds):
        mask, s, d = corridor_mask(points, 0.0, V, CONFIG.corridor)
        out.append(sparse.update(points, mask, s, d, nearest, V.front_overhang_m, speed, i * 100 * MS))
    return out


def standing(first_gap: float, scans: int = 4, **kwargs: float) -> list[np.ndarray]:
    """Scans of debris standing on the road while the ego closes at SPEED."""
    return [debris(first_gap - SPEED * 0.1 * i, **kwargs) for i in range(scans)]  # type: ignore[arg-type]


def test_standing_debris_with_too_few_returns_for_one_scan_is_believed_on_its_third() -> None:
    assert CONFIG.corridor.min_points > 3  # three returns a scan: never an obstacle on one scan
    found = feed(SparseObstacle(CONFIG.sparse, CONFIG.motion), standing(70.0))
    assert found[0] is None and found[1] is None  # a line needs motion.min_samples scans
    assert found[2] is not None
    obstacle, speed = found[2]
    # Its gap is the group's min_points-th return (0.1 m behind the first), as the corridor takes its own.
    assert obstacle.gap_m == pytest.approx(70.0 - 2 * SPEED * 0.1 + 0.1, abs=0.01)
    assert speed == pytest.approx(0.0, abs=0.1) and found[3] is not None


@pytest.mark.parametrize(
    "clouds, why",
    [
        ([debris(30.0)] * 4, "moving with the ego (a far car's few returns): not standing"),
        ([debris(70.0 - SPEED * 0.1 * i, n=1) for i in range(4)], "one return a scan: a stray, not a group"),
        ([debris(70.0 - SPEED * 0.1 * i, n=2, spread_m=2.0) for i in range(4)], "two returns 2 m apart: no group"),
        (standing(70.0, lateral_m=1.1), "beside the body (inside the corridor's lateral margin)"),
        ([debris(float(g)) for g in (70.0, 40.0, 65.0, 35.0)], "never where the ego's travel puts it"),
    ],
)
def test_returns_that_are_not_a_standing_group_in_the_body_s_way_are_not_believed(clouds, why) -> None:
    assert feed(SparseObstacle(CONFIG.sparse, CONFIG.motion), clouds) == [None] * len(clouds), why


def test_only_nearer_than_the_corridor_s_own_obstacle_and_only_when_enabled() -> None:
    assert feed(SparseObstacle(CONFIG.sparse, CONFIG.motion), standing(70.0), nearest=50.0) == [None] * 4
    off = dataclasses.replace(CONFIG.sparse, enabled=False)
    assert feed(SparseObstacle(off, CONFIG.motion), standing(70.0)) == [None] * 4


def test_the_aeb_brakes_for_sparse_debris_far_enough_ahead_to_stop() -> None:
    # 80 km/h towards debris returning 3 points a scan from 60 m: braking starts by the third scan,
    # where the corridor alone (5 returns a scan) would wait until the debris returns as many.
    core = AebCore(CONFIG)
    decisions = []
    for i, points in enumerate(standing(60.0, scans=4)):
        now = i * 100 * MS
        core.on_odometry(SPEED, 0.0, now)
        decisions.append(core.on_cloud(scan(points), now, now + 5 * MS))
    assert decisions[0].state is AebState.CRUISE
    assert decisions[2].state in BRAKING and decisions[2].threat.source == "points"
    assert decisions[2].threat.gap_m > 50.0
