import cv2
import numpy as np
import pytest

from av_edge.core.perception.boxes import fit_boxes, near_face_axis
from av_edge.core.perception.clustering import ClusterConfig, cluster_points

CONFIG = ClusterConfig(
    cell_m=0.35,
    min_points=5,
    max_range_m=100.0,
    merge_azimuth_deg=0.5,
    merge_range_m=1.0,
    merge_range_ratio=0.06,
    vertical_resolution_deg=0.42,
    merge_over_top_m=6.0,
)


def rectangle(cx, cy, length, width, yaw, n=400, seed=0):
    rng = np.random.default_rng(seed)
    local = rng.uniform([-length / 2, -width / 2], [length / 2, width / 2], (n, 2))
    c, s = np.cos(yaw), np.sin(yaw)
    xy = local @ np.array([[c, s], [-s, c]]) + (cx, cy)
    return np.column_stack([xy, rng.uniform(0.3, 1.5, n)])


def test_two_cars_a_metre_apart_stay_separate():
    points = np.vstack([rectangle(20, 0, 4.5, 1.8, 0.0), rectangle(20, 2.8, 4.5, 1.8, 0.0)])
    labels, n = cluster_points(points.T, CONFIG)
    assert n == 2
    assert len(set(labels[:400])) == 1 and len(set(labels[400:])) == 1 and labels[0] != labels[400]


def test_sparse_returns_along_a_far_side_face_join_one_cluster():
    # A side face at y = 2.6 seen from the origin: successive LiDAR columns land ~1.4 m apart at 35 m.
    fragments = [
        np.column_stack([np.full(8, x), np.full(8, 2.6), np.linspace(0.3, 1.4, 8)]) for x in (32.8, 34.0, 35.4, 36.8)
    ]
    rear = np.column_stack([np.full(20, 32.7), np.linspace(2.6, 4.4, 20), np.full(20, 0.8)])
    labels, n = cluster_points(np.vstack([rear, *fragments]).T, CONFIG)
    assert n == 1 and (labels == 0).all()


def test_spray_noise_is_dropped():
    rng = np.random.default_rng(2)
    spray = rng.uniform([-3, -3, 0.3], [3, 3, 1.0], (30, 3)) * [3, 3, 1]
    labels, n = cluster_points(np.vstack([rectangle(15, 0, 4.5, 1.8, 0.0), spray]).T, CONFIG)
    assert n == 1
    assert (labels[400:] == -1).mean() > 0.8


def test_empty_input():
    labels, n = cluster_points(np.zeros((0, 3)).T, CONFIG)
    assert n == 0 and labels.shape == (0,)


@pytest.mark.parametrize("yaw", [0.0, 0.3, -0.7, 1.2])
def test_box_recovers_centre_size_and_heading(yaw):
    points = rectangle(12.0, -3.0, 4.6, 1.9, yaw, n=2000)
    box = fit_boxes(points.T, np.zeros(len(points), dtype=np.int32), 1)[0]
    assert box["x"] == pytest.approx(12.0, abs=0.1) and box["y"] == pytest.approx(-3.0, abs=0.1)
    assert box["length"] == pytest.approx(4.6, abs=0.15) and box["width"] == pytest.approx(1.9, abs=0.15)
    assert np.cos(2 * (box["yaw"] - yaw)) > 0.999  # heading is defined modulo pi
    assert box["n_points"] == 2000
    assert box["height"] == pytest.approx(1.2, abs=0.05)


def test_a_walker_stepping_out_at_a_parked_cars_end_stays_separate():
    # The parked car's inner side face at y = -1.9, sampled in columns ~0.7 m apart at 20 m (joined),
    # and a walker 0.75 m beyond its far end on the same line: taller than the car (1.8 m vs 1.5 m).
    face = [np.column_stack([np.full(6, x), np.full(6, -1.9), np.linspace(0.3, 1.5, 6)]) for x in (18.0, 18.7, 19.4)]
    walker = np.column_stack([np.full(12, 20.15), np.full(12, -1.9), np.linspace(0.3, 1.8, 12)])
    labels, n = cluster_points(np.vstack([*face, walker]).T, CONFIG)
    assert n == 2
    assert len(set(labels[:18])) == 1 and len(set(labels[18:])) == 1 and labels[0] != labels[18]


def test_a_person_showing_over_a_cars_roof_stays_separate():
    rear = np.column_stack(
        [np.full(60, 20.0), np.tile(np.linspace(-0.9, 0.9, 12), 5), np.repeat(np.linspace(0.3, 1.5, 5), 12)]
    )
    head = np.column_stack([np.full(8, 25.0), np.tile(np.linspace(-0.2, 0.2, 4), 2), np.repeat([1.6, 1.75], 4)])
    _, n = cluster_points(np.vstack([rear, head]).T, CONFIG)
    assert n == 2


def test_a_pedestrian_beside_a_car_is_not_merged_over_the_top():
    car = np.column_stack(
        [np.full(60, 20.0), np.tile(np.linspace(-0.9, 0.9, 12), 5), np.repeat(np.linspace(0.3, 1.5, 5), 12)]
    )
    person = np.column_stack([np.full(20, 23.0), np.full(20, 3.0), np.linspace(0.1, 1.8, 20)])
    _, n = cluster_points(np.vstack([car, person]).T, CONFIG)
    assert n == 2


def test_a_dense_near_car_gets_the_rectangle_of_all_its_returns():
    # An L of two faces 6 m away, 64 rings x 150 columns: ~10k returns, most of them redundant in 2D.
    rng = np.random.default_rng(4)
    along = np.concatenate([np.linspace(0, 4.5, 150), np.full(150, 4.5)])
    across = np.concatenate([np.full(150, 0.0), np.linspace(0, 1.8, 150)])
    xy = np.column_stack([6.0 + across, -2.0 + along]) @ np.array([[0.96, 0.28], [-0.28, 0.96]])
    points = np.column_stack([np.repeat(xy, 32, axis=0), np.tile(np.linspace(0.3, 1.5, 32), len(xy))])
    points[:, :2] += rng.normal(0, 0.01, (len(points), 2))
    box = fit_boxes(points.astype(np.float32).T, np.zeros(len(points), dtype=np.int32), 1)[0]
    (cx, cy), (w, h), _ = cv2.minAreaRect(points[:, :2].astype(np.float32))
    assert (box["x"], box["y"]) == pytest.approx((cx, cy), abs=0.02)
    assert (box["length"], box["width"]) == pytest.approx((max(w, h), min(w, h)), abs=0.02)


def test_a_roof_ring_seen_over_the_rear_face_joins_the_car():
    rear = np.column_stack(
        [np.full(60, 20.0), np.tile(np.linspace(-0.9, 0.9, 12), 5), np.repeat(np.linspace(0.3, 1.5, 5), 12)]
    )
    roof = np.column_stack([np.full(12, 22.5), np.linspace(-0.85, 0.85, 12), np.full(12, 1.52)])
    _, n = cluster_points(np.vstack([rear, roof]).T, CONFIG)
    assert n == 1


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("shape", [(60, 40), (900, 30)])  # tall grids take OpenCV's parallel path
def test_grid_components_keep_ndimage_raster_order(shape, threads):
    from scipy import ndimage

    from av_edge.core.perception.clustering import label_grid

    rng = np.random.default_rng(7)
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        for density in (0.05, 0.08, 0.3):
            occupied = (rng.random(shape) < density).astype(np.uint8)
            expected, n = ndimage.label(occupied, structure=np.ones((3, 3), dtype=bool))
            n_labels, found = label_grid(occupied)
            assert n_labels - 1 == n
            assert np.array_equal(found, expected)
    finally:
        cv2.setNumThreads(before)


def test_components_match_scipy_and_number_by_lowest_node():
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    from av_edge.core.perception.clustering import _components

    rng = np.random.default_rng(3)
    chain = np.arange(59, 0, -1)  # a path joined from its far end: deep trees before compression
    graphs = [(chain, chain - 1, 60)]
    for n in (1, 2, 7, 40, 200):
        for edges in (n // 2 + 1, 3 * n):
            graphs.append((rng.integers(0, n, edges), rng.integers(0, n, edges), n))
    for first, second, n in graphs:
        found, n_found = _components(n, first, second)
        n_expected, expected = connected_components(coo_array((np.ones(first.size), (first, second)), shape=(n, n)))
        assert n_found == n_expected
        # the same partition, numbered in the order of each component's lowest node
        assert np.array_equal(found, np.unique(expected, return_index=True)[1].argsort().argsort()[expected])


def test_sort_by_label_groups_stably_and_marks_each_start():
    from av_edge.core.perception.clustering import sort_by_label

    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(6), [3, 1, 4, 2, 5, 7]))  # 5: the spare
    order, starts = sort_by_label(labels, 5)
    assert np.array_equal(order, np.argsort(labels, kind="stable"))
    assert starts.tolist() == [0, 3, 4, 8, 10, 15]


def test_the_anchor_spread_lies_along_the_near_face():
    # A car's rear face square on at 30 m (1.8 m wide, seen edge on in range) and a walker beside it:
    # the face's anchor spreads ~0.5 m across (1.8 / sqrt(12)) and not in range; the walker's a hand.
    face = np.column_stack([np.full(40, 30.0), np.linspace(-0.9, 0.9, 40), np.full(40, 1.0)])
    walker = np.column_stack([np.full(10, 30.0), np.linspace(4.8, 5.2, 10), np.full(10, 1.0)])
    labels = np.repeat(np.arange(2, dtype=np.int32), [40, 10])
    face_box, walker_box = fit_boxes(np.vstack([face, walker]).T.astype(np.float32), labels, 2)
    assert np.sqrt(face_box["anchor_syy"]) == pytest.approx(1.8 / np.sqrt(12), rel=0.05)
    assert face_box["anchor_sxx"] == pytest.approx(0.0, abs=1e-6)
    assert face_box["anchor_sxy"] == pytest.approx(0.0, abs=1e-6)
    assert np.sqrt(walker_box["anchor_syy"]) < 0.15


@pytest.mark.parametrize("angle", [0.0, 0.5, np.pi / 4, -1.2, np.pi / 2])
def test_the_near_face_axis_follows_its_returns(angle):
    """The direction of a face (from its returns' moments), whichever way it runs, from half a metre
    of it; a walker's near face spreads too little to have one."""
    c, s = np.cos(angle), np.sin(angle)
    for length, has_axis in ((1.8, True), (0.55, True), (0.4, False)):
        t = np.linspace(-length / 2, length / 2, 200)
        sxx, syy, sxy = (np.array([np.mean(a * b * t * t)]) for a, b in ((c, c), (s, s), (c, s)))
        axis = near_face_axis(sxx, syy, sxy)[0]
        if has_axis:
            assert abs(axis[0] * s - axis[1] * c) < 1e-9 and np.hypot(*axis) == pytest.approx(1.0)
        else:
            assert axis.tolist() == [0.0, 0.0]
