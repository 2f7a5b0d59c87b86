import numpy as np
import pytest

from av_edge.core.perception.ground import GroundConfig, height_above_ground, segment_ground

CONFIG = GroundConfig(
    sector_deg=1.0, bin_m=1.0, max_range_m=100.0, max_slope=0.15, height_threshold_m=0.2, max_occluded_rise_m=0.5
)


def road(height_of, extent=40.0, step=0.25):
    """Dense road points with z = height_of(x, y)."""
    x, y = np.meshgrid(np.arange(-extent, extent, step), np.arange(-12.0, 12.0, step))
    return np.column_stack([x.ravel(), y.ravel(), height_of(x.ravel(), y.ravel())])


def box_points(x0, y0, length, width, height, base_z=0.0, step=0.1):
    """Points on the faces of a box standing at base_z."""
    xs, zs = np.meshgrid(np.arange(x0, x0 + length, step), np.arange(base_z, base_z + height, step))
    ys = np.arange(y0, y0 + width, step)
    face_x = np.column_stack(
        [np.full(ys.size * zs.shape[0], x0), np.repeat(ys, zs.shape[0]), np.tile(zs[:, 0], ys.size)]
    )
    side = np.column_stack([xs.ravel(), np.full(xs.size, y0), zs.ravel()])
    return np.vstack([face_x, side])


@pytest.mark.parametrize(
    ("name", "height_of"),
    [
        ("flat", lambda x, y: np.zeros_like(x)),
        ("uphill 8 %", lambda x, y: 0.08 * np.maximum(x, 0)),
        ("downhill 6 %", lambda x, y: -0.06 * np.maximum(x, 0)),
        ("crowned 2 %", lambda x, y: -0.02 * np.abs(y)),
        ("curb 15 cm beyond |y| > 4 m", lambda x, y: np.where(np.abs(y) > 4.0, 0.15, 0.0)),
    ],
)
def test_road_surfaces_are_ground(name, height_of):
    points = road(height_of)
    assert segment_ground(points.T, CONFIG).mean() > 0.995, name


def test_car_on_a_slope_is_not_ground_but_the_slope_is():
    slope = 0.08
    surface = road(lambda x, y: slope * np.maximum(x, 0))
    car = box_points(25.0, -0.9, 4.5, 1.8, 1.5, base_z=slope * 25.0)
    car = car[car[:, 2] > slope * car[:, 0] + 0.25]  # the body clear of the road under it
    mask = segment_ground(np.vstack([surface, car]).T, CONFIG)
    assert mask[: len(surface)].mean() > 0.99
    assert not mask[len(surface) :].any()


def test_trench_plate_is_ground():
    plate = road(lambda x, y: np.where((x > 20) & (x < 22.4) & (np.abs(y) < 1.85), 0.025, 0.0))
    assert segment_ground(plate.T, CONFIG).all()


def test_points_beyond_range_are_not_ground():
    far = np.array([[150.0, 0.0, 0.0]])
    assert not segment_ground(far.T, CONFIG).any()


def test_far_outliers_do_not_disturb_the_ground():
    """A return far beyond range (or absurdly far) is not ground and leaves the others' heights alone."""
    surface = road(lambda x, y: 0.05 * np.maximum(x, 0))
    outliers = np.array([[150.0, 0.0, 0.0], [3e9, -2e9, 0.0]])
    alone = height_above_ground(surface.T, CONFIG)
    mixed = height_above_ground(np.vstack([surface, outliers]).T, CONFIG)
    np.testing.assert_array_equal(mixed[: len(surface)], alone)
    assert np.isinf(mixed[len(surface) :]).all()
