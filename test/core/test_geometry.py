import numpy as np
import pytest

from av_edge.core.geometry import pose_matrix, transform_points, transform_to_rows


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_rows_are_the_transformed_points(n):
    matrix = pose_matrix(1.2, -0.3, 1.8, 0.01, -0.02, 0.3)
    points = np.random.default_rng(n).uniform(-50, 50, (n, 3)).astype(np.float32)
    rows = transform_to_rows(matrix, points)
    assert rows.shape == (3, n) and rows.dtype == np.float32 and rows.flags.c_contiguous
    np.testing.assert_array_equal(rows, transform_points(matrix, points).T)


def test_rows_from_strided_float64_points():
    points = np.random.default_rng(0).uniform(-50, 50, (200, 3))
    rows = transform_to_rows(np.eye(4), points[::2])
    np.testing.assert_array_equal(rows, points[::2].T.astype(np.float32))
