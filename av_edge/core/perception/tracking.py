"""Multi-object tracking in the odom frame: Kalman filters, gated Hungarian association on likelihood.

Motion model: constant acceleration per axis (state [x, vx, ax, y, vy, ay], white jerk noise).
A constant-velocity filter lags a lead braking at 0.5 g by ~1 m/s at 10 Hz whatever its tuning
(measured in test/core/perception/test_tracking.py's history); constant acceleration tracks it
without lag and also yields the lead's deceleration. All tracks are predicted and corrected
together (batched matrices); only association uses scipy's ``linear_sum_assignment``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from av_edge.core.config import bounded

# Columns of the state [x, vx, ax, y, vy, ay] as strided slices (fancy column indices cost ~10x more).
_POSITION, _VELOCITY, _ACCEL = slice(0, None, 3), slice(1, None, 3), slice(2, None, 3)
_UNGATED = 1e6


@dataclass(frozen=True)
class TrackerConfig:
    gate_m: float = bounded(0.1, 20.0, "largest distance from a prediction to a matched detection")
    jerk_noise_mps3: float = bounded(0.01, 100.0, "process noise: unmodelled jerk (1 sigma)")
    measurement_noise_m: float = bounded(0.001, 5.0, "detection centre noise (1 sigma)")
    initial_speed_sigma_mps: float = bounded(0.1, 100.0, "velocity uncertainty of a new track")
    initial_accel_sigma_mps2: float = bounded(0.1, 50.0, "acceleration uncertainty of a new track")
    confirm_hits: int = bounded(1, 100, "detections before a track is confirmed")
    mature_hits: int = bounded(1, 1000, "detections before its velocity is trusted (score 0.9)")
    max_misses: int = bounded(0, 100, "frames a track survives without a detection (occlusion)")


@dataclass(frozen=True)
class Assignment:
    """Per detection: its track id, velocity and acceleration (odom axes), and how established it is."""

    track_id: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray
    confirmed: np.ndarray
    mature: np.ndarray


@functools.lru_cache(maxsize=16)  # scans come at a fixed rate: the same few dt over and over
def _transition(dt: float, jerk: float) -> tuple[np.ndarray, np.ndarray]:
    axis = np.array([[1.0, dt, dt * dt / 2], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    g = np.array([[dt**3 / 6], [dt**2 / 2], [dt]])
    return np.kron(np.eye(2), axis), np.kron(np.eye(2), g @ g.T * jerk**2)


class Tracker:
    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.ids = np.zeros(0, dtype=np.uint32)
        self.state = np.zeros((0, 6))
        self.covariance = np.zeros((0, 6, 6))
        self.hits = np.zeros(0, dtype=np.int32)
        self.misses = np.zeros(0, dtype=np.int32)
        self._next_id = 1
        self._stamp_ns: int | None = None
        sigmas = [config.measurement_noise_m, config.initial_speed_sigma_mps, config.initial_accel_sigma_mps2]
        self._initial_covariance = np.diag(np.square(sigmas * 2))

    def positions(self) -> np.ndarray:
        return self.state[:, _POSITION]

    def update(self, centers: np.ndarray, stamp_ns: int) -> Assignment:
        """Advance to ``stamp_ns`` and absorb ``(K, 2)`` detection centres (odom frame)."""
        dt = 0.0 if self._stamp_ns is None else max((stamp_ns - self._stamp_ns) / 1e9, 0.0)
        self._stamp_ns = stamp_ns
        self._predict(dt)
        track_of = self._associate(centers)
        matched = track_of >= 0
        self._correct(track_of[matched], centers[matched])
        self.hits[track_of[matched]] += 1
        self.misses += 1
        self.misses[track_of[matched]] = 0
        track_of[~matched] = self._birth(centers[~matched])
        alive = self.misses <= self.config.max_misses
        rows = (np.cumsum(alive) - 1)[track_of]
        self._keep(alive)
        return Assignment(
            track_id=self.ids[rows].copy(),
            velocity=self.state[rows, _VELOCITY],
            acceleration=self.state[rows, _ACCEL],
            confirmed=self.hits[rows] >= self.config.confirm_hits,
            mature=self.hits[rows] >= self.config.mature_hits,
        )

    def _predict(self, dt: float) -> None:
        if self.ids.size == 0 or dt == 0.0:
            return
        f, q = _transition(dt, self.config.jerk_noise_mps3)
        self.state = self.state @ f.T
        # F P F^T for every track as two single matrix products over the stacked rows (a batched
        # matmul loops per track); P F^T stacked, transposed per track (= F P), times F^T.
        k = self.ids.size
        pft = (self.covariance.reshape(-1, 6) @ f.T).reshape(k, 6, 6)
        self.covariance = (pft.transpose(0, 2, 1).reshape(-1, 6) @ f.T).reshape(k, 6, 6) + q

    def _associate(self, centers: np.ndarray) -> np.ndarray:
        """Track index per detection (-1 where no track within the gate)."""
        track_of = np.full(centers.shape[0], -1, dtype=np.intp)
        if centers.shape[0] == 0 or self.ids.size == 0:
            return track_of
        dx = centers[:, 0, None] - self.state[None, :, 0]
        dy = centers[:, 1, None] - self.state[None, :, 3]
        # Innovation covariance [[a, b], [b, c]] per track, inverted in closed form (2 x 2).
        r = self.config.measurement_noise_m**2
        a, b, c = self.covariance[:, 0, 0] + r, self.covariance[:, 0, 3], self.covariance[:, 3, 3] + r
        det = a * c - b * b
        mahalanobis2 = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
        # Negative log-likelihood: a confident track keeps its detection against a new track whose
        # unknown velocity makes it fit anything nearby (a roof ring born behind a lead vehicle).
        cost = mahalanobis2 + np.log(det)
        cost = np.where(dx * dx + dy * dy <= self.config.gate_m**2, cost, _UNGATED)
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] < _UNGATED
        track_of[rows[ok]] = cols[ok]
        return track_of

    def _correct(self, tracks: np.ndarray, measured: np.ndarray) -> None:
        if tracks.size == 0:
            return
        p = self.covariance[tracks]
        # H selects the positions: P H^T is two columns of P and S = H P H^T + R their 2 x 2 rows,
        # inverted in closed form; elementwise, as numpy's batched matmul and inv loop per track.
        px, py = p[:, :, 0], p[:, :, 3]  # the columns of P H^T
        r = self.config.measurement_noise_m**2
        a, b, c = px[:, 0] + r, px[:, 3], py[:, 3] + r
        det = a * c - b * b
        gain_x = (px * c[:, None] - py * b[:, None]) / det[:, None]  # columns of K = P H^T S^-1
        gain_y = (py * a[:, None] - px * b[:, None]) / det[:, None]
        innovation = measured - self.state[tracks, _POSITION]
        self.state[tracks] += gain_x * innovation[:, :1] + gain_y * innovation[:, 1:]
        # (I - K H) P = P - K (H P), with H P = (P H^T)^T: the rows are px and py.
        self.covariance[tracks] = p - gain_x[:, :, None] * px[:, None, :] - gain_y[:, :, None] * py[:, None, :]

    def _birth(self, centers: np.ndarray) -> np.ndarray:
        """Start a track per centre; returns their row indices."""
        k, first = centers.shape[0], self.ids.size
        if k == 0:
            return np.zeros(0, dtype=np.intp)
        self.ids = np.concatenate([self.ids, np.arange(self._next_id, self._next_id + k, dtype=np.uint32)])
        self._next_id += k
        state = np.zeros((k, 6))
        state[:, _POSITION] = centers
        self.state = np.concatenate([self.state, state])
        self.covariance = np.concatenate([self.covariance, np.repeat(self._initial_covariance[None], k, axis=0)])
        self.hits = np.concatenate([self.hits, np.ones(k, dtype=np.int32)])
        self.misses = np.concatenate([self.misses, np.zeros(k, dtype=np.int32)])
        return np.arange(first, first + k)

    def _keep(self, alive: np.ndarray) -> None:
        self.ids, self.state, self.covariance = self.ids[alive], self.state[alive], self.covariance[alive]
        self.hits, self.misses = self.hits[alive], self.misses[alive]
