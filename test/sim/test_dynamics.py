import pytest

from av_edge.sim.dynamics import DynamicsConfig, EgoDynamics

CONFIG = DynamicsConfig(actuator_delay_s=0.05, brake_jerk_mps3=40.0, max_decel_mps2=9.0, substep_s=0.001)
MS = 1_000_000


def test_constant_speed_without_commands():
    ego = EgoDynamics(CONFIG, x=0.0, speed_mps=10.0, now_ns=0)
    ego.advance(2000 * MS)
    assert ego.x == pytest.approx(20.0)
    assert ego.speed == 10.0


def test_actuator_delay_then_jerk_limited_build_up_then_stop():
    ego = EgoDynamics(CONFIG, x=0.0, speed_mps=10.0, now_ns=0)
    ego.command(8.0, now_ns=0)
    ego.advance(50 * MS)
    assert ego.decel == 0.0  # still inside the actuator delay
    ego.advance(150 * MS)
    assert ego.decel == pytest.approx(4.0, abs=0.05)  # 0.1 s of build-up at 40 m/s^3
    ego.advance(400 * MS)
    assert ego.decel == pytest.approx(8.0)
    ego.advance(5000 * MS)
    assert ego.speed == 0.0
    # 0.05 s delay at 10 m/s; 0.2 s build-up (speed 10 -> 9.2); then 9.2 m/s braked at 8 m/s^2
    build_up = 10.0 * 0.2 - 40.0 * 0.2**3 / 6
    assert ego.x == pytest.approx(0.5 + build_up + 9.2**2 / 16, abs=0.01)


def test_requests_are_clamped_to_the_tyre_limit():
    ego = EgoDynamics(CONFIG, x=0.0, speed_mps=30.0, now_ns=0)
    ego.command(20.0, now_ns=0)
    ego.advance(1000 * MS)
    assert ego.decel == pytest.approx(9.0)
