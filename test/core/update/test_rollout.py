"""The rollout decision and the download gate: pure, no network."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from av_edge.core.diagnostics import Level, Status
from av_edge.core.update.gate import BusyGate
from av_edge.core.update.rollout import (
    Rollout,
    RolloutError,
    in_slice,
    parse_rollout,
    slice_position,
    version_key,
    wanted_version,
)

NOW = 1_800_000_000 * 10**9


def rollout(percent: float, **changes: object) -> Rollout:
    fields: dict[str, object] = dict(
        model="det", target="1.2.0", baseline="1.1.0", percent=percent, rollout_id="det-1.2.0-7", expires_ns=NOW + 1
    )
    fields.update(changes)
    return Rollout(**fields)  # type: ignore[arg-type]


def test_the_slice_is_about_the_percentage_and_differs_between_rollouts() -> None:
    ids = [f"car-{i}" for i in range(4000)]
    inside = sum(in_slice(rollout(10.0), v) for v in ids)
    assert 320 < inside < 480  # 10 % of 4000, binomial 5 sigma
    other = {v for v in ids if in_slice(rollout(10.0, rollout_id="det-1.3.0-9"), v)}
    first = {v for v in ids if in_slice(rollout(10.0), v)}
    assert len(first & other) < len(first) / 3  # another rollout, mostly other vehicles


@given(st.text(min_size=1, max_size=20), st.floats(0, 100), st.floats(0, 100))
def test_growing_the_percentage_never_takes_a_vehicle_out(vehicle: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert in_slice(rollout(high), vehicle) or not in_slice(rollout(low), vehicle)
    assert 0.0 <= slice_position("det-1.2.0-7", vehicle) < 100.0


def test_wanted_version_and_expiry() -> None:
    assert wanted_version(rollout(100.0), "car-1", NOW) == "1.2.0"
    assert wanted_version(rollout(0.0), "car-1", NOW) == "1.1.0"
    assert wanted_version(rollout(0.0, vehicles=("car-1",)), "car-1", NOW) == "1.2.0"
    with pytest.raises(RolloutError, match="expired"):
        wanted_version(rollout(100.0), "car-1", NOW + 1)


def test_rollout_document_round_trip_and_rejections() -> None:
    original = rollout(25.0, vehicles=("a", "b"))
    assert parse_rollout(original.to_json()) == original
    with pytest.raises(RolloutError, match="malformed"):
        parse_rollout(b'{"model": "det"}')
    with pytest.raises(RolloutError, match=r"within 0\.\.100"):
        parse_rollout(rollout(150.0).to_json())


def test_versions_sort_numerically() -> None:
    assert version_key("1.10.0") > version_key("1.9.3")
    with pytest.raises(RolloutError, match="dotted integers"):
        version_key("1.2-rc1")


def test_downloads_wait_while_braking_and_after_events() -> None:
    gate = BusyGate(brake_mps2=2.0, hold_s=10.0)
    assert not gate.paused(0)
    gate.on_brake_request(-1.0, 0)  # light braking (ACC) does not pause
    assert not gate.paused(1)
    gate.on_brake_request(-6.0, 10**9)
    assert gate.paused(10**9) and gate.paused(10 * 10**9) and not gate.paused(11 * 10**9 + 1)
    gate.on_event(Status(Level.OK, "av_edge: model_update", "offered"), 20 * 10**9)
    assert not gate.paused(20 * 10**9)
    gate.on_event(Status(Level.WARN, "av_edge: camera front", "dark"), 20 * 10**9)
    assert gate.paused(29 * 10**9) and not gate.paused(31 * 10**9)
    gate.on_event(Status(Level.OK, "aeb/forward_collision_warning", "cruise -> warning"), 40 * 10**9)
    assert gate.paused(45 * 10**9)  # an FCW is no fault, but the recorder cuts a clip of it
