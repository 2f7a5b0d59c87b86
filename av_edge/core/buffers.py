"""Raw message payloads as numpy-ready byte views."""

from __future__ import annotations

import numpy as np

#: What a message's ``data`` may be: bytes-like, or rclpy's ``array.array('B')``.
Buffer = bytes | bytearray | memoryview


def as_byte_view(data: object) -> memoryview:
    """Flat byte view of a message's ``data`` without copying where the type allows it."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).cast("B")
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data, dtype=np.uint8).data
    # rclpy exposes uint8[] as array.array('B'), which supports the buffer protocol.
    try:
        return memoryview(data).cast("B")  # type: ignore[arg-type]
    except TypeError:
        return np.ascontiguousarray(data, dtype=np.uint8).data
