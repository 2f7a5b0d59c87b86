"""``sensor_msgs/Image`` <-> numpy arrays (rgb8, bgr8, rgba8, bgra8, mono8, mono16), honouring ``step`` padding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from av_edge.core.buffers import Buffer, as_byte_view
from av_edge.core.errors import MalformedImageError, UnsupportedEncodingError

#: encoding -> (numpy scalar code, channels)
ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3),
    "bgr8": ("u1", 3),
    "rgba8": ("u1", 4),
    "bgra8": ("u1", 4),
    "mono8": ("u1", 1),
    "mono16": ("u2", 1),
}


class ImageLike(Protocol):
    """Read-only view of ``sensor_msgs/Image`` (the message or an :class:`ImageBuffer`)."""

    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def encoding(self) -> str: ...
    @property
    def is_bigendian(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def data(self) -> Buffer | Sequence[int]: ...


@dataclass(frozen=True)
class ImageBuffer:
    """An Image body without the header."""

    height: int
    width: int
    encoding: str
    is_bigendian: bool
    step: int
    data: bytes


def image_to_array(msg: ImageLike) -> np.ndarray:
    """Read-only view ``(H, W)`` for mono encodings, ``(H, W, C)`` otherwise; channel order as encoded."""
    if msg.encoding not in ENCODINGS:
        raise UnsupportedEncodingError(f"unsupported image encoding '{msg.encoding}' (supported: {sorted(ENCODINGS)})")
    code, channels = ENCODINGS[msg.encoding]
    dtype = np.dtype((">" if msg.is_bigendian else "<") + code)
    pixel = dtype.itemsize * channels
    height, width, step = msg.height, msg.width, msg.step
    buffer = as_byte_view(msg.data)
    if height < 0 or width < 0:
        raise MalformedImageError(f"negative size {height}x{width}")
    if step < width * pixel:
        raise MalformedImageError(f"step {step} < width {width} * {pixel} bytes per pixel ({msg.encoding})")
    if len(buffer) != step * height:
        raise MalformedImageError(f"data has {len(buffer)} bytes, expected height {height} * step {step}")
    shape: tuple[int, ...] = (height, width, channels)
    strides: tuple[int, ...] = (step, pixel, dtype.itemsize)
    if channels == 1:
        shape, strides = shape[:2], strides[:2]
    if height * width == 0:
        return np.zeros(shape, dtype=dtype)
    return np.ndarray(shape, dtype=dtype, buffer=buffer, strides=strides)


def array_to_image(array: np.ndarray, encoding: str) -> ImageBuffer:
    """Pack an ``(H, W)`` or ``(H, W, C)`` array as an Image body with the given encoding (no padding)."""
    if encoding not in ENCODINGS:
        raise UnsupportedEncodingError(f"unsupported image encoding '{encoding}' (supported: {sorted(ENCODINGS)})")
    code, channels = ENCODINGS[encoding]
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ValueError(f"{encoding} needs shape (H, W{'' if channels == 1 else f', {channels}'}), got {array.shape}")
    if array.dtype.kind != "u" or array.dtype.itemsize != np.dtype(code).itemsize:
        raise ValueError(f"{encoding} needs dtype {np.dtype(code)}, got {array.dtype}")
    big_endian = array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not np.little_endian)
    contiguous = np.ascontiguousarray(array)
    return ImageBuffer(
        height=array.shape[0],
        width=array.shape[1],
        encoding=encoding,
        is_bigendian=bool(big_endian and array.dtype.itemsize > 1),
        step=array.shape[1] * channels * array.dtype.itemsize,
        data=contiguous.tobytes(),
    )


_TO_BGR = {
    "rgb8": cv2.COLOR_RGB2BGR,
    "rgba8": cv2.COLOR_RGBA2BGR,
    "bgra8": cv2.COLOR_BGRA2BGR,
    "mono8": cv2.COLOR_GRAY2BGR,
}


def to_bgr8(msg: ImageLike) -> np.ndarray:
    """Any supported encoding -> contiguous ``(H, W, 3)`` uint8 BGR (what the detector eats);
    mono16 is scaled by 1/256. An empty image (height or width 0) is a :class:`MalformedImageError`:
    there is nothing to detect in it and OpenCV would raise its own error."""
    array = image_to_array(msg)
    if array.size == 0:
        raise MalformedImageError(f"empty image {msg.height}x{msg.width} ({msg.encoding})")
    if msg.encoding == "bgr8":
        return np.ascontiguousarray(array)
    if msg.encoding == "mono16":
        array = (array >> 8).astype(np.uint8)
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.ascontiguousarray(array), _TO_BGR[msg.encoding])
