import struct
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from av_edge.core.errors import MalformedCloudError, MissingFieldError
from av_edge.core.pointcloud import (
    FieldSpec,
    array_to_cloud,
    cloud_to_array,
    xyz_from_cloud,
    xyz_to_cloud,
)

SCALARS = ["i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"]


@st.composite
def structured_arrays(draw):
    """Random layouts: any field order and offsets, padding, byte order, organized or not."""
    order = draw(st.sampled_from("<>"))
    n_fields = draw(st.integers(1, 5))
    names = draw(
        st.lists(
            st.sampled_from(["x", "y", "z", "intensity", "ring", "t", "rgb"]),
            min_size=n_fields,
            max_size=n_fields,
            unique=True,
        )
    )
    formats, offsets, offset = [], [], draw(st.integers(0, 4))
    for _ in names:
        code = draw(st.sampled_from(SCALARS))
        count = draw(st.sampled_from([1, 1, 1, 3]))
        dtype = np.dtype(order + code) if count == 1 else np.dtype((np.dtype(order + code), (count,)))
        formats.append(dtype)
        offsets.append(offset)
        offset += dtype.itemsize + draw(st.integers(0, 3))
    itemsize = offset + draw(st.integers(0, 8))
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize})
    shape = draw(st.sampled_from([(0,), (1,), (7,), (3, 4), (2, 1)]))
    raw = draw(st.binary(min_size=itemsize * int(np.prod(shape)), max_size=itemsize * int(np.prod(shape))))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def as_msg(buffer, **overrides):
    fields = [SimpleNamespace(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count) for f in buffer.fields]
    values = dict(vars(buffer), fields=fields)
    values.update(overrides)
    return SimpleNamespace(**values)


@settings(max_examples=200, deadline=None)
@given(structured_arrays())
def test_round_trip_preserves_every_field_bit_for_bit(array):
    back = cloud_to_array(as_msg(array_to_cloud(array)))
    expected = array.reshape(-1) if array.ndim == 2 and array.shape[0] == 1 else array
    if array.size == 0:
        assert back.size == 0
        return
    assert back.shape == expected.shape
    for name in array.dtype.names:
        assert back[name].tobytes() == expected[name].tobytes()


@given(st.integers(0, 16), st.integers(1, 5), st.integers(1, 6))
def test_row_step_padding_is_skipped(pad, height, width):
    points = np.arange(height * width * 3, dtype="<f4").reshape(height * width, 3)
    rows = [points[r * width : (r + 1) * width].tobytes() + b"\xee" * pad for r in range(height)]
    msg = SimpleNamespace(
        height=height,
        width=width,
        is_bigendian=False,
        point_step=12,
        row_step=12 * width + pad,
        fields=[SimpleNamespace(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")],
        data=b"".join(rows),
        is_dense=True,
    )
    np.testing.assert_array_equal(xyz_from_cloud(msg), points)


def test_xyz_fast_and_general_paths_agree():
    rng = np.random.default_rng(1)
    xyz = rng.normal(size=(50, 3)).astype(np.float32)
    fast = as_msg(xyz_to_cloud(xyz))
    dtype = np.dtype(
        {"names": ["z", "x", "y"], "formats": [">f8", ">f8", ">f8"], "offsets": [0, 8, 16], "itemsize": 32}
    )
    general = np.zeros(50, dtype)
    general["x"], general["y"], general["z"] = xyz.T
    np.testing.assert_array_equal(xyz_from_cloud(fast), xyz)
    np.testing.assert_array_equal(xyz_from_cloud(as_msg(array_to_cloud(general))), xyz)


def test_xyz_comes_row_major_from_padded_points():
    # x, y, z, intensity (the usual driver layout): rows, as transform_points and the pipeline take
    # them without a copy (a column-major result cost the AEB ~1 ms a scan in copies).
    packed = np.zeros(40, np.dtype([("y", "<f4"), ("intensity", "<f4"), ("x", "<f4"), ("z", "<f4")]))
    packed["x"], packed["y"], packed["z"] = np.arange(40), -np.arange(40), 2 * np.arange(40)
    xyz = xyz_from_cloud(as_msg(array_to_cloud(packed)))
    assert xyz.flags["C_CONTIGUOUS"] and xyz.dtype == np.float32
    np.testing.assert_array_equal(xyz, np.column_stack([packed["x"], packed["y"], packed["z"]]))


def test_nan_and_inf_points_are_dropped_from_organized_clouds():
    xyz = np.arange(24, dtype=np.float32).reshape(8, 3)
    xyz[1, 0], xyz[4, 2], xyz[6, 1] = np.nan, np.inf, -np.inf
    buffer = xyz_to_cloud(xyz)
    msg = as_msg(buffer, height=2, width=4, row_step=buffer.point_step * 4)
    assert not buffer.is_dense
    np.testing.assert_array_equal(xyz_from_cloud(msg), xyz[[0, 2, 3, 5, 7]])


def test_big_endian_cloud_reads_correctly():
    data = b"".join(struct.pack(">fff", i, -i, 2 * i) for i in range(4))
    msg = SimpleNamespace(
        height=1,
        width=4,
        is_bigendian=True,
        point_step=12,
        row_step=48,
        data=data,
        is_dense=True,
        fields=[SimpleNamespace(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")],
    )
    np.testing.assert_array_equal(xyz_from_cloud(msg)[:, 1], [0, -1, -2, -3])


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"data": b"\0" * 47}, MalformedCloudError, "47 bytes"),
        ({"row_step": 40}, MalformedCloudError, "row_step"),
        ({"point_step": 0}, MalformedCloudError, "point_step"),
        (
            {
                "fields": [
                    SimpleNamespace(name="x", offset=0, datatype=7, count=1),
                    SimpleNamespace(name="y", offset=4, datatype=7, count=1),
                ]
            },
            MissingFieldError,
            "z",
        ),
        (
            {"fields": [SimpleNamespace(name=n, offset=4 * i, datatype=9, count=1) for i, n in enumerate("xyz")]},
            MalformedCloudError,
            "datatype 9",
        ),
        (
            {"fields": [SimpleNamespace(name=n, offset=4 * i + 8, datatype=7, count=1) for i, n in enumerate("xyz")]},
            MalformedCloudError,
            "does not fit",
        ),
    ],
)
def test_malformed_clouds_raise_specific_errors(overrides, error, match):
    msg = as_msg(xyz_to_cloud(np.zeros((3, 4), np.float32)[:, :3]), **overrides)
    with pytest.raises(error, match=match):
        xyz_from_cloud(msg)


def test_reason_keys_are_stable_for_diagnostics():
    assert MalformedCloudError.reason == "malformed_cloud"
    assert MissingFieldError.reason == "missing_field"


def test_array_to_cloud_describes_fields():
    buffer = xyz_to_cloud(np.ones((2, 3)), intensity=np.array([0.5, 0.25]))
    assert buffer.fields == tuple(FieldSpec(n, 4 * i, 7, 1) for i, n in enumerate(["x", "y", "z", "intensity"]))
    assert (buffer.height, buffer.width, buffer.point_step, buffer.row_step) == (1, 2, 16, 32)
