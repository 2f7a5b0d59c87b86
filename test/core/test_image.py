from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from av_edge.core.errors import MalformedImageError, UnsupportedEncodingError
from av_edge.core.image import ENCODINGS, array_to_image, image_to_array


@given(
    st.sampled_from(sorted(ENCODINGS)), st.integers(0, 6), st.integers(0, 7), st.integers(0, 2**32 - 1), st.booleans()
)
def test_round_trip_every_encoding(encoding, height, width, seed, big_endian):
    code, channels = ENCODINGS[encoding]
    dtype = np.dtype((">" if big_endian else "<") + code)
    shape = (height, width) if channels == 1 else (height, width, channels)
    array = np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    back = image_to_array(array_to_image(array, encoding))
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)


@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 9))
def test_step_padding_is_skipped(height, width, pad):
    array = np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)
    rows = b"".join(array[r].tobytes() + b"\xff" * pad for r in range(height))
    msg = SimpleNamespace(height=height, width=width, encoding="rgb8", is_bigendian=0, step=width * 3 + pad, data=rows)
    np.testing.assert_array_equal(image_to_array(msg), array)


def test_mono16_big_endian_values():
    msg = SimpleNamespace(height=1, width=2, encoding="mono16", is_bigendian=1, step=4, data=b"\x01\x02\xff\x00")
    np.testing.assert_array_equal(image_to_array(msg), [[0x0102, 0xFF00]])


def test_unsupported_encoding_is_rejected():
    msg = SimpleNamespace(height=1, width=1, encoding="yuv422", is_bigendian=0, step=2, data=b"\0\0")
    with pytest.raises(UnsupportedEncodingError, match="yuv422"):
        image_to_array(msg)


@pytest.mark.parametrize(("step", "length", "match"), [(5, 6, "step 5"), (6, 11, "11 bytes"), (6, 13, "13 bytes")])
def test_inconsistent_sizes_are_rejected(step, length, match):
    msg = SimpleNamespace(height=2, width=2, encoding="rgb8", is_bigendian=0, step=step, data=b"\0" * length)
    with pytest.raises(MalformedImageError, match=match):
        image_to_array(msg)


def test_array_to_image_checks_shape_and_dtype():
    with pytest.raises(ValueError, match="shape"):
        array_to_image(np.zeros((2, 2), np.uint8), "rgb8")
    with pytest.raises(ValueError, match="dtype"):
        array_to_image(np.zeros((2, 2), np.uint8), "mono16")
