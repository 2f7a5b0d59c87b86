"""Sensor health: what an image says about its camera, and faults debounced per sensor.

FMVSS No. 127 (S5.4) asks for a malfunction telltale that covers sensor obstruction; production
AEB systems report a blind camera and degrade to the sensors that still work. A camera reports
itself healthy whatever it sends, so health is read from the frames: blank (a lens cap, mud, a
uniform frame), too dark (nothing lit), blinded (sun, glare: most of the frame saturated), frozen
(a driver resending one frame with new stamps; a real sensor never repeats its noise) and stale
(silent). Statistics come from a pixel grid (every ``stride_px``-th pixel each way: at 16, ~1.2k
samples of a 640x480 frame, ~0.04 ms), never a per-pixel loop; the percentile is a selection.

Faults are debounced in time (``now_ns`` in, no clock read): a condition must hold ``raise_s``
before it is raised and be gone ``clear_s`` before it clears, so one odd frame (a flash, a tunnel
exit) neither raises nor flickers a fault, and a fault clears on its own when it goes away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from av_edge.core.config import bounded

CAMERA_STATUS_PREFIX = "av_edge: camera "  # + the camera's name: its health status (perception's diagnostics)
SATURATED_LUMA = 250.0
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)  # ITU-R BT.601 weights, in OpenCV's BGR order


@dataclass(frozen=True)
class CameraHealthConfig:
    stride_px: int = bounded(1, 64, "statistics from every n-th pixel in each direction")
    blank_std: float = bounded(0.0, 255.0, "luma standard deviation (0-255) below which a frame is blank")
    dark_p99: float = bounded(0.0, 255.0, "a frame whose 99th-percentile luma is below this is too dark")
    blinded_fraction: float = bounded(0.0, 1.0, "a frame with more than this fraction saturated is blinded")
    frozen_frames: int = bounded(2, 1000, "this many identical frames in a row: frozen")
    raise_s: float = bounded(0.0, 10.0, "a condition holds this long before it is a fault")
    clear_s: float = bounded(0.0, 60.0, "a fault clears once its condition has been gone this long")


@dataclass(frozen=True)
class ImageStats:
    mean: float
    std: float
    p99: float
    saturated: float  # fraction of samples at SATURATED_LUMA or above


def image_stats(bgr: np.ndarray, stride_px: int) -> tuple[ImageStats, np.ndarray]:
    """Luma statistics of an HxWx3 (or HxW) uint8 frame on a grid, and the grid itself (for frozen)."""
    grid = np.ascontiguousarray(bgr[::stride_px, ::stride_px])
    luma = (grid.astype(np.float32) @ _LUMA_BGR if grid.ndim == 3 else grid.astype(np.float32)).ravel()
    if luma.size == 0:
        return ImageStats(0.0, 0.0, 0.0, 0.0), grid
    k = min(int(0.99 * luma.size), luma.size - 1)  # the 99th percentile by selection, not a sort
    return (
        ImageStats(
            mean=float(luma.mean()),
            std=float(luma.std()),
            p99=float(np.partition(luma, k)[k]),
            saturated=float(np.count_nonzero(luma >= SATURATED_LUMA)) / luma.size,
        ),
        grid,
    )


class Debounced:
    """Named conditions raised after holding ``raise_s`` and cleared after ``clear_s`` without them."""

    def __init__(self, raise_s: float, clear_s: float) -> None:
        self._raise_ns, self._clear_ns = int(raise_s * 1e9), int(clear_s * 1e9)
        self._present_since: dict[str, int] = {}  # condition -> first time of its current run
        self._absent_since: dict[str, int] = {}  # raised condition -> first time it was gone
        self.active: set[str] = set()

    def update(self, present: Iterable[str], now_ns: int) -> None:
        now = set(present)
        self._present_since = {c: self._present_since.get(c, now_ns) for c in now}
        for condition, since in self._present_since.items():
            if now_ns - since >= self._raise_ns:
                self.active.add(condition)
        for condition in list(self.active):
            if condition in now:
                self._absent_since.pop(condition, None)
                continue
            gone = self._absent_since.setdefault(condition, now_ns)
            if now_ns - gone >= self._clear_ns:
                self.active.discard(condition)
                del self._absent_since[condition]


class CameraHealth:
    """One camera's health from its frames: :meth:`on_frame` per image, :meth:`faults` any time."""

    def __init__(self, config: CameraHealthConfig, stale_s: float) -> None:
        self.config, self.stale_s = config, stale_s
        self.conditions = Debounced(config.raise_s, config.clear_s)
        self.stats: ImageStats | None = None
        self._last_ns: int | None = None
        self._previous: np.ndarray | None = None
        self._repeats = 0  # frames equal to the one before, in a row
        self._texts: dict[str, str] = {}  # raised condition -> its latest wording, with the numbers

    def on_frame(self, bgr: np.ndarray, now_ns: int) -> None:
        cfg = self.config
        stats, grid = image_stats(bgr, cfg.stride_px)
        previous = self._previous
        same = previous is not None and previous.shape == grid.shape and np.array_equal(previous, grid)
        self._repeats = self._repeats + 1 if same else 0
        self._previous, self.stats, self._last_ns = grid, stats, now_ns
        found = []  # one reason for what the frame shows: a white-out is blinded, not also blank
        if stats.saturated > cfg.blinded_fraction:
            found.append(f"blinded ({stats.saturated:.0%} saturated)")
        elif stats.std < cfg.blank_std:
            found.append(f"blank (luma std {stats.std:.1f})")
        elif stats.p99 < cfg.dark_p99:
            found.append(f"too dark (luma p99 {stats.p99:.0f})")
        if self._repeats + 1 >= cfg.frozen_frames:
            found.append("frozen (repeated frames)")
        # Debounce on the kind, not on the numbers in the text.
        self.conditions.update((f.split(" (")[0] for f in found), now_ns)
        self._texts = {f.split(" (")[0]: f for f in found}

    def faults(self, now_ns: int) -> tuple[str, ...]:
        """The raised faults, most recent wording; ``stale`` needs no frame to be noticed."""
        found = [self._texts.get(c, c) for c in sorted(self.conditions.active)]
        if self._last_ns is None:
            found.append("no image")
        elif (age := (now_ns - self._last_ns) / 1e9) > self.stale_s:
            found.append(f"stale {age:.1f}s")
        return tuple(found)
