"""Issue criteria: velocity within 0.5 m/s after 1 s of track; ids stable through a 2-frame occlusion."""

from pathlib import Path

import numpy as np
import pytest

from av_edge.core.config import build_config
from av_edge.core.perception.node_config import PerceptionNodeConfig
from av_edge.core.perception.tracking import Tracker, TrackerConfig
from av_edge.core.vehicle import load_node_params

PARAMS = load_node_params(Path(__file__).resolve().parents[3] / "config/perception.params.yaml", "perception_node")
CONFIG: TrackerConfig = build_config(PerceptionNodeConfig, PARAMS).pipeline.tracker
DT_NS = 100_000_000
# Jitter of the tracked anchor (nearest-face centroid) between simulated scans of a moving car:
# std 0.006 m along and 0.012 m across the lane (measured); 0.03 m white noise leaves margin.
CENTRE_NOISE_M = 0.03


def trajectory(kind, steps):
    """Positions and true velocities at 10 Hz."""
    t = np.arange(steps) * 0.1
    if kind == "constant":
        pos, vel = np.column_stack([20 + 15 * t, np.full(steps, 1.0)]), np.tile([15.0, 0.0], (steps, 1))
    elif kind == "braking":  # 20 m/s lead braking at 0.5 g
        v = np.maximum(20 - 4.9 * t, 0)
        x = 30 + np.where(v > 0, 20 * t - 2.45 * t**2, 20**2 / (2 * 4.9))
        pos, vel = np.column_stack([x, np.zeros(steps)]), np.column_stack([v, np.zeros(steps)])
    else:  # pedestrian crossing at 1.5 m/s
        pos, vel = np.column_stack([15 * np.ones(steps), -5 + 1.5 * t]), np.tile([0.0, 1.5], (steps, 1))
    return pos, vel


@pytest.mark.parametrize("kind", ["constant", "braking", "crossing"])
def test_velocity_within_half_a_metre_per_second_after_one_second(kind):
    rng = np.random.default_rng(4)
    pos, vel = trajectory(kind, 25)
    tracker = Tracker(CONFIG)
    errors = []
    for k in range(25):
        noisy = pos[k] + rng.normal(0, CENTRE_NOISE_M, 2)
        result = tracker.update(noisy[None, :], k * DT_NS)
        assert result.track_id[0] == 1
        if k >= 10:  # 1 s of track
            errors.append(np.linalg.norm(result.velocity[0] - vel[k]))
    assert max(errors) < 0.5, f"{kind}: worst velocity error {max(errors):.2f} m/s"


def test_a_motorway_car_keeps_one_track_from_its_first_scan():
    """40 m/s in odom is 4 m a scan, beyond gate_m: a track seen once gates on its velocity's uncertainty."""
    assert CONFIG.gate_m < 40.0 * DT_NS / 1e9
    rng = np.random.default_rng(7)
    tracker = Tracker(CONFIG)
    for k in range(15):
        position = np.array([10.0 + 40.0 * k * DT_NS / 1e9, 3.5]) + rng.normal(0, CENTRE_NOISE_M, 2)
        result = tracker.update(position[None, :], k * DT_NS)
        assert result.track_id.tolist() == [1]
    assert result.velocity[0] == pytest.approx([40.0, 0.0], abs=0.5)


def test_a_people_sized_track_seen_once_takes_no_detection_a_person_could_not_reach():
    """A parked car's 0.2 m fragment, then a child stepping out 1.6 m from it: a new track, not 16 m/s."""
    reach = CONFIG.person_max_speed_mps * DT_NS / 1e9 + 3 * CONFIG.measurement_noise_m
    assert 1.6 > reach > 1.0
    person, car = np.array([0.3]), np.array([4.5])
    for step_m, length, same in ((1.6, person, False), (1.0, person, True), (1.6, car, True)):
        tracker = Tracker(CONFIG)
        first = tracker.update(np.array([[20.0, -3.0]]), 0, lengths=length)
        second = tracker.update(np.array([[20.0, -3.0 + step_m]]), DT_NS, lengths=length)
        assert bool(second.track_id[0] == first.track_id[0]) is same, (step_m, length)


def test_a_motorcycle_seen_from_behind_gets_one_track_at_motorway_speed():
    """0.8 m wide, people-sized, but 2.3 m a scan in odom (80 km/h): beyond a person's reach of a track
    seen once, so its second detection starts a track that its third continues, at its speed."""
    tracker = Tracker(CONFIG)
    ids = []
    for k in range(12):
        position = np.array([[30.0 + 22.8 * k * DT_NS / 1e9, 0.0]])
        result = tracker.update(position, k * DT_NS, lengths=np.array([0.8]))
        ids.append(int(result.track_id[0]))
    assert ids[2:] == [ids[1]] * 10, ids
    assert result.velocity[0] == pytest.approx([22.8, 0.0], abs=0.5)


def test_a_child_born_beyond_a_fragments_reach_keeps_a_walkers_velocity():
    """The fragment's jump to the child is never its velocity: the child walks on from where it appeared."""
    tracker = Tracker(CONFIG)
    person = np.array([0.3])
    tracker.update(np.array([[20.0, -3.0]]), 0, lengths=person)  # the fragment, seen once
    child = np.array([20.0, -1.4])  # 1.6 m on: a new track
    ids = [int(tracker.update(child[None], DT_NS, lengths=person).track_id[0])]
    for k in range(2, 6):  # walking out at 1.5 m/s
        result = tracker.update((child + np.array([0.0, 0.15 * (k - 1)]))[None], k * DT_NS, lengths=person)
        ids.append(int(result.track_id[0]))
    assert ids == [ids[0]] * 5
    assert result.velocity[0] == pytest.approx([0.0, 1.5], abs=0.5)


def test_a_track_never_takes_a_detection_beyond_twice_its_gate():
    tracker = Tracker(CONFIG)
    tracker.update(np.array([[10.0, 0.0]]), 0)
    result = tracker.update(np.array([[10.0 + 2 * CONFIG.gate_m + 0.1, 0.0]]), DT_NS)
    assert result.track_id.tolist() == [2]


def test_a_coasting_track_does_not_pin_its_velocity_on_a_newcomer_beyond_its_gate():
    tracker = Tracker(CONFIG)
    for k in range(CONFIG.mature_hits + 2):  # a mature cyclist's track, 8 m/s (small: quick to change)
        tracker.update(np.array([[10.0 + 0.8 * k, -3.0]]), k * DT_NS, np.array([1.5]))
    for k in range(CONFIG.mature_hits + 2, CONFIG.mature_hits + 7):  # hidden: coasting, ever less sure
        tracker.update(np.zeros((0, 2)), k * DT_NS)
    assert tracker.coasting().size == 1
    predicted = tracker.state[0, :, 0]  # at the last scan; it has moved on 0.8 m since
    child = predicted + np.array([0.0, CONFIG.gate_m + 0.5])
    result = tracker.update(child[None, :], (CONFIG.mature_hits + 7) * DT_NS, np.array([0.3]))
    assert result.track_id.tolist() == [2]


def test_ids_survive_a_two_frame_occlusion_and_do_not_swap():
    pos_a, _ = trajectory("constant", 20)
    pos_b = pos_a + np.array([0.0, 3.5])  # a second car in the next lane
    tracker = Tracker(CONFIG)
    ids = []
    for k in range(20):
        occluded = k in (8, 9)
        detections = np.array([pos_b[k]]) if occluded else np.array([pos_a[k], pos_b[k]])
        result = tracker.update(detections, k * DT_NS)
        ids.append(tuple(result.track_id))
    assert ids[0] == (1, 2)
    assert ids[8] == ids[9] == (2,)
    assert all(i == (1, 2) for i in ids[10:]), ids[10:]


def test_tracks_die_after_max_misses_and_new_ones_get_fresh_ids():
    tracker = Tracker(CONFIG)
    tracker.update(np.array([[10.0, 0.0]]), 0)
    for k in range(1, CONFIG.max_misses + 2):
        tracker.update(np.zeros((0, 2)), k * DT_NS)
    assert tracker.ids.size == 0
    result = tracker.update(np.array([[10.0, 0.0]]), 10 * DT_NS)
    assert result.track_id.tolist() == [2]


def test_confirmation_after_enough_hits():
    tracker = Tracker(CONFIG)
    confirmed = [bool(tracker.update(np.array([[5.0, 0.0]]), k * DT_NS).confirmed[0]) for k in range(4)]
    assert confirmed == [k + 1 >= CONFIG.confirm_hits for k in range(4)]


def follow(tracker, positions, lengths=None, start=0):
    """Feed one detection per scan; returns the assignments."""
    out = []
    for k, p in enumerate(positions, start=start):
        length = None if lengths is None else np.array([lengths[k - start]])
        out.append(tracker.update(np.array([p]), k * DT_NS, length))
    return out


def test_a_partial_view_does_not_drag_the_track():
    """A 4.5 m car crossing at 6 m/s slides behind a wall: what shows of it shrinks and its near face
    stays at the wall's edge. The track keeps the car's speed instead of stopping with the anchor."""
    steps = 20
    y = -15.0 + 6.0 * np.arange(steps) * 0.1
    edge = -6.0  # the wall hides y > -6
    anchor = np.minimum(y, edge - 0.2)
    lengths = np.clip(edge - (y - 2.25), 0.2, 4.5)
    tracker = Tracker(CONFIG)
    out = follow(tracker, np.column_stack([np.full(steps, 20.0), anchor]), lengths)
    shrinking = np.flatnonzero(lengths < 4.0)
    assert shrinking.size >= 3
    for k in shrinking:
        assert abs(out[k].velocity[0, 1] - 6.0) < 1.0, (k, out[k].velocity[0])


def test_a_mature_track_coasts_through_an_occlusion_then_takes_its_detection_back():
    tracker = Tracker(CONFIG)
    pos, _ = trajectory("constant", 30)
    seen = follow(tracker, pos[:10])
    assert seen[-1].mature[0]
    for k in range(10, 10 + CONFIG.coast_misses):  # hidden
        tracker.update(np.zeros((0, 2)), k * DT_NS)
        rows = tracker.coasting()
        assert tracker.ids[rows].tolist() == [1]
        assert np.allclose(tracker.state[rows[0], :, 0], pos[k], atol=0.5)
    back = tracker.update(pos[None, 10 + CONFIG.coast_misses], (10 + CONFIG.coast_misses) * DT_NS)
    assert back.track_id.tolist() == [1] and tracker.coasting().size == 0


def test_a_mature_track_dies_after_coast_misses_and_a_young_one_after_max_misses():
    tracker = Tracker(CONFIG)
    follow(tracker, [(10.0, 0.0)] * CONFIG.mature_hits)
    tracker.update(np.array([[30.0, 5.0]]), CONFIG.mature_hits * DT_NS)  # a young track elsewhere
    alive = []
    for k in range(CONFIG.mature_hits + 1, CONFIG.mature_hits + CONFIG.coast_misses + 2):
        tracker.update(np.zeros((0, 2)), k * DT_NS)
        alive.append(tracker.ids.tolist())
    assert alive[CONFIG.max_misses - 1] == [1, 2] and alive[CONFIG.max_misses] == [1]
    assert alive[CONFIG.coast_misses - 2] == [1] and alive[-1] == []


def test_the_payload_comes_from_whole_views():
    payload = np.dtype([("size", "f8")])
    tracker = Tracker(CONFIG, payload)
    for k, length in enumerate([4.5, 4.6, 2.0, 1.0]):
        tracker.update(np.array([[10.0, 0.0]]), k * DT_NS, np.array([length]), np.array([(length,)], payload))
    assert tracker.payload["size"].tolist() == [4.6]


def test_a_braking_lead_whose_view_turns_from_corner_to_rear_keeps_its_deceleration():
    """Seen first at an angle (4.5 m, its side) then from behind (1.8 m, across the lane): the rear view
    is shorter but not cut in range, so the track follows the braking along x as closely as ever."""
    pos, vel = trajectory("braking", 20)
    tracker = Tracker(CONFIG)
    corner, rear = [1.0, 0.0], [0.0, 1.0]
    for k, p in enumerate(pos):
        length, side = (4.5, corner) if k < 5 else (1.8, rear)
        out = tracker.update(np.array([p]), k * DT_NS, np.array([length]), along=np.array([side]))
    assert abs(out.velocity[0, 0] - vel[-1, 0]) < 0.3, (out.velocity[0], vel[-1])  # 0.7 low on both axes


def test_an_anchor_sliding_along_a_wide_face_is_no_motion():
    """A parked car's face seen at an angle: the nearest returns' centroid jumps 0.4 m along the face
    as returns come and go. With the face's spread as its noise, the track's velocity stands out of
    its own uncertainty (v_sigma, what the AEB's crossing test weighs it by) on one scan at most,
    the first after confirmation (1.0 sigma); without, the same jumps stand out on most scans."""
    steps = 16
    jumps = np.where(np.arange(steps) % 4 < 2, 0.0, 0.4)  # along y, the face's direction
    positions = np.column_stack([np.full(steps, 40.0), 5.0 + jumps])
    face = np.array([[0.0, 0.5**2]])  # the face's spread: 1.7 m of returns along y
    wide, narrow = Tracker(CONFIG), Tracker(CONFIG)
    significance: dict[str, list[float]] = {"wide": [], "narrow": []}
    for k, p in enumerate(positions):
        a = wide.update(np.array([p]), k * DT_NS, np.array([1.7]), spread=face)
        b = narrow.update(np.array([p]), k * DT_NS, np.array([1.7]))
        if k >= CONFIG.confirm_hits:
            significance["wide"].append(abs(a.velocity[0, 1]) / a.velocity_sigma[0])
            significance["narrow"].append(abs(b.velocity[0, 1]) / b.velocity_sigma[0])
    assert sum(v >= 1.0 for v in significance["wide"]) <= 1
    assert sum(v >= 1.0 for v in significance["narrow"]) >= len(significance["narrow"]) // 2


def pass_parked_car(face_turns):
    """A parked car beside the path, 30 m ahead, as we pass it: its rear face nearest (anchor at its
    centre line, the face across the lane) while whole views come and go, then its side (the anchor
    0.9 m nearer the path, the face along it). Returns the track's lateral speed after the turn."""
    tracker = Tracker(CONFIG)
    rear, side = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    for k in range(12):
        length = 4.5 if k % 2 else 1.8  # whole views (the L: its side grazing) and the rear alone
        tracker.update(np.array([[30.0, 2.8]]), k * DT_NS, np.array([length]), along=side, face=rear)
    faced = side if face_turns else rear
    out = tracker.update(np.array([[30.0, 1.9]]), 12 * DT_NS, np.array([1.6]), along=side, face=faced)
    return out.velocity[0, 1]


def test_a_parked_car_whose_side_becomes_its_near_face_does_not_cross():
    """Passing a parked car: its near face turns from its rear to its side, and the anchor jumps 0.9 m
    across. Known as another face, the jump is a partial view, not 3-9 m/s of crossing."""
    assert abs(pass_parked_car(face_turns=True)) < 0.5
    assert abs(pass_parked_car(face_turns=False)) > 1.0  # the same jump on one face: believed
