"""Errors raised by av_edge.core: specific types so nodes can log, count and keep running."""

from __future__ import annotations


class AvEdgeError(Exception):
    """Base of every av_edge error."""


class ConfigError(AvEdgeError, ValueError):
    """A parameter set is missing keys, has unknown keys, or holds values out of range."""


class MessageError(AvEdgeError, ValueError):
    """An input message was rejected. ``reason`` is a short stable key for diagnostics counters."""

    reason = "malformed"


class MalformedCloudError(MessageError):
    """PointCloud2 whose layout (sizes, steps, offsets, datatypes) is inconsistent."""

    reason = "malformed_cloud"


class MissingFieldError(MessageError):
    """PointCloud2 lacking a field the consumer needs (x, y, z)."""

    reason = "missing_field"


class MalformedImageError(MessageError):
    """Image whose step or data length does not match its size and encoding."""

    reason = "malformed_image"


class UnsupportedEncodingError(MessageError):
    """Image encoding that av_edge does not convert."""

    reason = "unsupported_encoding"


class InvalidObjectsError(MessageError):
    """Object list with non-finite or physically impossible values (a publisher bug)."""

    reason = "invalid_objects"


class InvalidOdometryError(MessageError):
    """Odometry whose speed or yaw rate is not finite or beyond what the vehicle can do."""

    reason = "invalid_odometry"


class WrongFrameError(MessageError):
    """Message in a frame other than the one the consumer's extrinsic is configured for."""

    reason = "wrong_frame"
