"""The whole LiDAR pipeline on simulated scans (the simulator's ray caster), ego moving."""

from pathlib import Path

import numpy as np
import pytest

from av_edge.core.config import build_config
from av_edge.core.ego import EgoPose
from av_edge.core.perception.pipeline import LidarPipeline
from av_edge.core.vehicle import load_node_params
from av_edge.sim.lidar import LidarConfig, LidarModel
from av_edge.sim.world import Box

SIM = load_node_params(Path(__file__).resolve().parents[3] / "config/simulator.params.yaml", "simulator_node")
LIDAR = build_config(
    LidarConfig, {k.removeprefix("sim.lidar."): v for k, v in SIM.items() if k.startswith("sim.lidar.")}
)
MS = 1_000_000


def xyz(points):
    return np.column_stack([points["x"], points["y"], points["z"]])


def run(pipeline, frames, ego_speed, boxes_at, seed=0):
    """Scan ``frames`` times at 10 Hz; ``boxes_at(t)`` places the actors. Returns the pipeline frames."""
    model = LidarModel(LIDAR, seed=seed)
    out = []
    for k in range(frames):
        t = k * 0.1
        ego = EgoPose(ego_speed * t, 0.0, 0.0, ego_speed, 0.0, k * 100 * MS)
        out.append(pipeline.process(xyz(model.scan(ego.x, 0.0, 0.0, boxes_at(t))), ego.stamp_ns, ego))
    return out


def nearest_object(frame, x, y):
    objects = frame.objects
    return objects[np.argmin(np.hypot(objects["x"] - x, objects["y"] - y))]


def test_braking_lead_velocity_within_half_a_metre_per_second_one_second_after_braking_starts(perception_config):
    def lead_x(t):  # 20 m/s lead braking at 0.5 g from t = 0.5 s, ego follows at 20 m/s
        tb = max(t - 0.5, 0.0)
        return 30 + 20 * t - 2.45 * tb**2

    frames = run(LidarPipeline(perception_config), 25, 20.0, lambda t: [Box(lead_x(t), 0.0, 4.5, 1.8, 1.5)])
    errors = []
    lead_id = nearest_object(frames[0], lead_x(0.0) - 2.25, 0.0)["track_id"]  # its rear face
    for k, frame in enumerate(frames[15:], start=15):  # from 1 s after the lead starts braking
        t = k * 0.1
        true_v = 20 - 4.9 * max(t - 0.5, 0.0)
        lead = nearest_object(frame, lead_x(t) - 20 * t - 2.25, 0.0)
        assert lead["track_id"] == lead_id
        errors.append(abs(lead["vx"] - true_v))
        assert abs(lead["vy"]) < 0.5
    assert max(errors) < 0.5, errors


def test_crossing_pedestrian_velocity(perception_config):
    frames = run(
        LidarPipeline(perception_config),
        20,
        10.0,
        lambda t: [Box(25 + 10 * 0.0, -6 + 1.5 * t, 0.5, 0.6, 1.8, "pedestrian")],
    )
    for k, frame in enumerate(frames[10:], start=10):
        ped = nearest_object(frame, 25 - 10 * k * 0.1, -6 + 1.5 * k * 0.1)
        assert np.hypot(ped["vx"] - 0.0, ped["vy"] - 1.5) < 0.5


def test_parked_cars_stand_and_a_crossing_pedestrian_does_not(perception_config):
    # The ego passes parked cars at 15 m/s while a pedestrian crosses ahead: from 0.3 s on, the
    # parked cars' returns lie where returns lay before (standing ~1), the walker's do not (0).
    parked = [Box(40.0, -3.5, 4.5, 1.8, 1.5), Box(52.0, -3.5, 4.5, 1.8, 1.5)]
    frames = run(
        LidarPipeline(perception_config),
        12,
        15.0,
        lambda t: [*parked, Box(60.0, 5 - 1.5 * t, 0.5, 0.6, 1.8, "pedestrian")],
    )
    assert not frames[2].objects["standing"].any()  # no scan 0.3 s old yet
    for k, frame in enumerate(frames[4:], start=4):
        t = k * 0.1
        assert nearest_object(frame, 40.0 - 15 * t, -3.5)["standing"] > 0.6, k
        assert nearest_object(frame, 60.0 - 15 * t, 5 - 1.5 * t)["standing"] == 0.0, k


def test_scene_objects_found_gantry_and_trench_plate_ignored(perception_config):
    scene = [
        Box(20.0, 0.0, 4.5, 1.8, 1.5),
        Box(35.0, 3.5, 4.5, 1.8, 1.5),
        Box(12.0, -4.0, 0.5, 0.6, 1.8, "pedestrian"),
        Box(50.0, -3.5, 10.0, 2.5, 3.2, "truck"),
        Box(30.0, 0.0, 1.0, 20.0, 1.0, "gantry", z_min=5.0),
        Box(10.0, 0.0, 2.4, 3.7, 0.025, "trench plate"),
    ]
    frame = run(LidarPipeline(perception_config), 1, 0.0, lambda t: scene)[0]
    objects = frame.objects
    on = np.array(
        [
            [abs(o["x"] - b.x) < b.length / 2 + 0.5 and abs(o["y"] - b.y) < b.width / 2 + 0.5 for b in scene]
            for o in objects
        ]
    )
    assert on[:, :4].any(axis=0).all(), "an actor was missed"
    assert on[:, :4].any(axis=1).all(), "an object off every actor (ghost)"
    assert not on[:, 4:].any(), "gantry or trench plate reported"
    # Far side faces seen at grazing angles may add a fragment (a duplicate, never a ghost).
    assert len(objects) <= 5


def test_huge_cloud_is_strided_to_bounded_work(perception_config):
    rng = np.random.default_rng(0)
    cloud = rng.uniform([-50, -50, -2], [50, 50, 0], (1_000_000, 3)).astype(np.float32)
    frame = LidarPipeline(perception_config).process(cloud, 0, None)
    assert frame.n_input == 1_000_000
    assert frame.n_used <= perception_config.max_points


def test_empty_cloud(perception_config):
    frame = LidarPipeline(perception_config).process(np.zeros((0, 3), np.float32), 0, None)
    assert frame.objects.size == 0 and frame.obstacle_points.shape == (0, 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_deterministic(perception_config, seed):
    scene = [Box(20.0, 0.0, 4.5, 1.8, 1.5), Box(12.0, -4.0, 0.5, 0.6, 1.8)]
    a = run(LidarPipeline(perception_config), 3, 10.0, lambda t: scene, seed)
    b = run(LidarPipeline(perception_config), 3, 10.0, lambda t: scene, seed)
    assert all(x.objects.tobytes() == y.objects.tobytes() for x, y in zip(a, b, strict=True))


@pytest.mark.xfail(strict=True, reason="known defect (#19): the near-face anchor of a long side square on stays put")
def test_a_car_crossing_square_on_in_front_keeps_its_speed(perception_config):
    """Its long side faces the sensor: the nearest patch stays put while the car slides along it
    (the aperture problem). Tracked at ~5.5 m/s while it straddles the sensor's axis."""

    def car(t):
        return [Box(20.0, -8.0 + 10.0 * t, 4.5, 1.8, 1.5, yaw=np.pi / 2)]

    frames = run(LidarPipeline(perception_config), 16, 0.0, car)
    for k, frame in enumerate(frames[8:], start=8):  # the car straddles the sensor's axis from k = 6
        crossing = nearest_object(frame, 20.0, -8.0 + k)
        assert abs(crossing["vy"] - 10.0) < 1.0, (k, crossing["vy"])


def test_a_car_hidden_behind_a_wall_coasts_at_its_speed_and_keeps_its_id(perception_config):
    wall = Box(22.0, -4.0, 6.0, 0.5, 3.0, "wall", yaw=np.pi / 2)  # its shadow at x = 30: y in [-9.5, -1.4]

    def y(t):
        return -20.0 + 6.0 * t

    def scene(t):
        return [wall, Box(30.0, y(t), 4.5, 1.8, 1.5, yaw=np.pi / 2)]

    frames = run(LidarPipeline(perception_config), 40, 0.0, scene)
    first = nearest_object(frames[12], 30.0, y(1.2))
    assert first["score"] >= 0.9 - 1e-4
    hidden = 0
    for k, frame in enumerate(frames[12:], start=12):
        seen = frame.objects[: frame.cluster_ids.max() + 1]  # the scan's clusters; coasting tracks follow
        track = frame.objects[frame.objects["track_id"] == first["track_id"]]
        assert track.size == 1, f"track lost at scan {k}"
        if track["track_id"][0] not in seen["track_id"]:
            hidden += 1
            assert abs(track["vy"][0] - 6.0) < 1.0, (k, track["vy"][0])
            assert abs(track["y"][0] - y(k * 0.1)) < 1.0, (k, track["y"][0])
            assert track["length"][0] > 4.0  # the car's size, not its last sliver
    assert hidden >= 5, "the wall hides the car for a while"


def test_hidden_by_needs_returns_nearer_along_the_line_of_sight():
    from av_edge.core.objects import OBJECT_DTYPE
    from av_edge.core.perception.pipeline import hidden_by

    boxes = np.zeros(3, dtype=OBJECT_DTYPE)
    boxes["x"], boxes["y"], boxes["length"], boxes["width"] = [30.0, 30.0, 30.0], [0.0, 10.0, -10.0], 4.5, 1.8
    wall = np.column_stack([np.full(50, 20.0), np.linspace(-2.0, 2.0, 50), np.ones(50)]).T  # rows x, y, z
    beside = np.column_stack([np.full(50, 29.0), np.linspace(9.0, 11.0, 50), np.ones(50)]).T  # same range
    hidden = hidden_by(boxes, np.hstack([wall, beside]), np.zeros(2), 1.0)
    assert hidden.tolist() == [True, False, False]


def rain_model(clutter: float, seed: int = 3) -> LidarModel:
    """The simulator's LiDAR with a share ``clutter`` of its rays returning early from drops (1-40 m)."""
    return LidarModel(LIDAR, seed=seed, clutter=clutter)


def test_heavy_rain_makes_no_objects_and_a_car_stays_one(perception_config):
    """Heavy rain (0.8 % of rays): its lone returns are no obstacle points and no objects; the car
    ahead is still found. Light rain (0.05 %) is below the rain gauge: lone returns stay (in clear
    air a lone return may be the first of something coming into view)."""
    car = Box(20.0, 0.0, 4.5, 1.8, 1.5)
    pipeline, model = LidarPipeline(perception_config), rain_model(0.008)
    frames = [pipeline.process(xyz(model.scan(0.0, 0.0, 0.0, [car])), k * 100 * MS, None) for k in range(6)]
    last = frames[-1]
    assert len(last.objects) == 1 and abs(last.objects["x"][0] - car.x) < 3.0
    off_car = np.abs(last.obstacle_points[:, 0] - car.x) > 3.0
    assert np.count_nonzero(off_car) < 10  # drops that happen to share a cell are all that is left
    light, light_model = LidarPipeline(perception_config), rain_model(0.0005)
    lone = [light.process(xyz(light_model.scan(0.0, 0.0, 0.0, [car])), k * 100 * MS, None) for k in range(6)][-1]
    assert np.count_nonzero(np.abs(lone.obstacle_points[:, 0] - car.x) > 3.0) > 0
