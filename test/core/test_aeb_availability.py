"""The AEB availability telltale: available / degraded / unavailable from the watchdog, raised within
1 s of a fault (sim time), latched and re-sent on change and every second."""

from __future__ import annotations

import numpy as np
import pytest

from av_edge.core.aeb import AebCore, Availability, Fault, Telltale, TelltalePublisher
from av_edge.core.diagnostics import Level
from av_edge.core.errors import InvalidOdometryError
from test.core.test_aeb import CONFIG, MS, scan, wall

SCAN_NS = 100 * MS


def healthy_scans(core: AebCore, start_ns: int, n: int, blocked_deg: float = 0.0) -> int:
    """``n`` scans at 10 Hz with odometry (an optional forward sector cut out); returns the last time."""
    points = scan(wall(60.0))
    azimuth = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    if blocked_deg:
        points = points[np.abs(azimuth) > blocked_deg / 2]
    now = start_ns
    for k in range(n):
        now = start_ns + k * SCAN_NS
        core.on_odometry(10.0, 0.0, now)
        core.on_cloud(points, now, now + 5 * MS)
    return now + 5 * MS


def test_classification() -> None:
    assert Telltale.of([]).availability is Availability.AVAILABLE
    blocked = Fault("lidar", "blocked", "LiDAR blocked (-10..10 deg)", disabling=False)
    dead = Fault("lidar", "dead", "no point cloud", disabling=True)
    assert Telltale.of([blocked]).availability is Availability.DEGRADED
    assert Telltale.of([blocked, dead]).availability is Availability.UNAVAILABLE
    status = Telltale.of([blocked, dead, Fault("clock", "jump", "clock jump", False)]).status("hold")
    assert status.level == Level.ERROR and status.message.startswith("unavailable: lidar: LiDAR blocked")
    assert status.values["lidar"] == "LiDAR blocked (-10..10 deg); no point cloud"
    assert status.values["clock"] == "clock jump" and status.values["degraded_action"] == "hold"
    assert Telltale.of([]).status("hold").values == {"availability": "available"}


def test_a_dead_lidar_makes_the_aeb_unavailable_within_a_second_and_recovery_clears_it() -> None:
    core = AebCore(CONFIG)
    last = healthy_scans(core, 0, 10)
    assert core.telltale(last).availability is Availability.AVAILABLE
    raised = [t for t in range(last, last + 2000 * MS, 50 * MS) if core.telltale(t).availability.value != "available"]
    core.on_odometry(10.0, 0.0, last + 500 * MS)  # odometry alive: the LiDAR alone is missing
    assert raised and raised[0] - last <= 1000 * MS  # the watchdog polls at 20 Hz: this is its answer
    telltale = core.telltale(last + 600 * MS)
    assert telltale.availability is Availability.UNAVAILABLE
    assert [f.sensor for f in telltale.faults] == ["lidar"]
    back = healthy_scans(core, last + 700 * MS, 3)
    assert core.telltale(back).availability is Availability.AVAILABLE


def test_a_blocked_sector_degrades_and_invalid_odometry_disables() -> None:
    core = AebCore(CONFIG)
    last = healthy_scans(core, 0, 5, blocked_deg=40.0)
    telltale = core.telltale(last)
    assert telltale.availability is Availability.DEGRADED and "LiDAR blocked" in telltale.faults[0].reason
    core = AebCore(CONFIG)
    last = healthy_scans(core, 0, 5)
    for k in range(1, 8):  # a wheel-speed sensor sending NaN from here on, scans still coming
        now = last + k * 100 * MS
        with pytest.raises(InvalidOdometryError):
            core.on_odometry(float("nan"), 0.0, now)
        core.on_cloud(scan(wall(60.0)), now, now + 5 * MS)
    telltale = core.telltale(last + 800 * MS)
    assert telltale.availability is Availability.UNAVAILABLE
    assert [f.sensor for f in telltale.faults] == ["odometry"] and "invalid" in telltale.faults[0].reason


def test_sent_on_change_and_every_second() -> None:
    sender, ok = TelltalePublisher(), Telltale.of([])
    assert sender.due(ok, 0)
    assert not sender.due(ok, 500 * MS)
    assert sender.due(ok, 1000 * MS)  # periodic
    degraded = Telltale.of([Fault("lidar", "stale", "point cloud stale 0.31s", True)])
    assert sender.due(degraded, 1100 * MS)  # a change goes out at once
    older = Telltale.of([Fault("lidar", "stale", "point cloud stale 0.36s", True)])
    assert not sender.due(older, 1150 * MS)  # the same fault, its age grown: not a change


def lidar_with(dropout: float = 0.0, blocked_deg: tuple[float, float] | None = None) -> np.ndarray:
    """The healthy test scan losing a share of its returns at random, or all in a sector."""
    points = scan(wall(60.0))
    keep = np.random.default_rng(0).random(points.shape[0]) >= dropout
    if blocked_deg is not None:
        azimuth = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
        keep &= (azimuth < blocked_deg[0]) | (azimuth > blocked_deg[1])
    return points[keep]


@pytest.mark.parametrize(("dropout", "raised"), [(0.0, False), (0.3, False), (0.45, True), (0.8, True)])
def test_dropout_is_measured_on_the_rays_that_must_return(dropout: float, raised: bool) -> None:
    """The suite's healthy LiDAR loses up to 30 %; a fault beyond max_dropout degrades the AEB."""
    core = AebCore(CONFIG)
    core.on_odometry(10.0, 0.0, 0)
    core.on_cloud(lidar_with(dropout), 0, 5 * MS)
    assert core.watchdog.dropout == pytest.approx(dropout, abs=0.03)
    kinds = {(f.sensor, f.kind) for f in core.telltale(5 * MS).faults}
    assert (("lidar", "dropout") in kinds) == raised
    if raised:
        assert core.telltale(5 * MS).availability is Availability.DEGRADED


@pytest.mark.parametrize("sector", [(3.0, 23.0), (-41.0, -21.0), (-60.0, 60.0)])
def test_a_blocked_sector_of_20_degrees_is_found_wherever_it_lies(sector: tuple[float, float]) -> None:
    core = AebCore(CONFIG)
    core.on_odometry(10.0, 0.0, 0)
    core.on_cloud(lidar_with(blocked_deg=sector), 0, 5 * MS)
    blocked = core.watchdog.blocked_sectors
    assert blocked and all(sector[0] - 10 <= a and b <= sector[1] + 10 for a, b in blocked), blocked
    # The sectors it half covers lose half their rays: some "dropout", but not a dropout fault.
    assert not any(f.kind == "dropout" for f in core.telltale(5 * MS).faults)


def test_an_object_at_a_blind_edge_is_not_predicted_to_cross() -> None:
    """A parked car coming out of a blocked sector grows at the edge and "moves" sideways: the
    crossing prediction leaves anything within a sector of the blind edge alone, nothing else."""
    from av_edge.core.aeb.watchdog import cut_by_blind_sectors
    from av_edge.core.objects import OBJECT_DTYPE

    objects = np.zeros(3, dtype=OBJECT_DTYPE)
    objects["x"], objects["y"] = [10.0, 30.0, 10.0], [3.3, 0.0, -20.0]
    objects["length"], objects["width"] = 4.5, 1.8
    sensor = np.eye(3)
    sensor[0, 2] = CONFIG.lidar_extrinsic.x
    blocked = [(-30.0, 10.0)]  # the car at (10, 3.3) is at ~21 deg: within 10 of the edge
    assert cut_by_blind_sectors(objects, blocked, sensor, 10.0).tolist() == [True, True, False]
    assert not cut_by_blind_sectors(objects, [], sensor, 10.0).any()


def test_the_watchdog_describes_the_lidar_the_simulator_flies() -> None:
    """The ray counts the watchdog expects follow from the LiDAR (beams, columns, mount height,
    range): if either file changes alone, every scan looks like dropout or nothing ever would."""
    from av_edge.suite.stack import StackConfig

    lidar, w = StackConfig.load().sim.lidar, CONFIG.watchdog
    elevations = np.linspace(lidar.min_elevation_deg, lidar.max_elevation_deg, lidar.n_beams)
    low = elevations < w.ground_elevation_deg
    assert lidar.n_azimuth / 360.0 * np.count_nonzero(low) == pytest.approx(w.ground_rays_per_deg)
    mount = lidar.extrinsic.z
    reach = mount / np.tan(np.radians(-elevations[low]))  # where each counted ray meets a flat road
    assert reach.max() < lidar.max_range_m and mount == CONFIG.lidar_extrinsic.z


def test_one_event_per_fault_not_per_poll() -> None:
    """A stale LiDAR's age and a dropout share change every poll; the event channel hears each once."""
    core = AebCore(CONFIG)
    last = healthy_scans(core, 0, 3)
    core.events.clear()
    for t in range(last, last + 2000 * MS, 50 * MS):  # 2 s of watchdog polls at 20 Hz, odometry alive
        core.on_odometry(10.0, 0.0, t)
        core.check(t)
    assert [(e.name, e.level) for e in core.events] == [("aeb/watchdog", Level.ERROR)]
    core = AebCore(CONFIG)
    core.events.clear()
    for k, share in enumerate([0.5, 0.55, 0.6, 0.52, 0.58]):
        now = k * SCAN_NS
        core.on_odometry(10.0, 0.0, now)
        core.on_cloud(lidar_with(share), now, now + 5 * MS)
    watchdog = [e for e in core.events if e.name == "aeb/watchdog"]
    assert len(watchdog) == 1 and "LiDAR dropout" in watchdog[0].message
