"""Multi-object tracking in the odom frame: Kalman filters, gated Hungarian association on likelihood.

Motion model: constant acceleration per axis (state [position, velocity, acceleration] for x and
for y, white jerk noise). A constant-velocity filter lags a lead braking at 0.5 g by ~1 m/s at
10 Hz whatever its tuning (measured in test/core/perception/test_tracking.py's history); constant
acceleration tracks it without lag and also yields the lead's deceleration. The axes never mix
(the transition, the noise and the measurement treat them alike and apart), so every track is two
independent 3-state filters with scalar innovations; all of them are predicted and corrected
together (stacked matrices). Only association uses scipy's ``linear_sum_assignment``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from av_edge.core.config import Rule, below, bounded

_UNGATED = 1e6
GATE_SIGMAS = 3.0  # a new track's gate: this many sigmas of its position uncertainty (at least gate_m)
FACE_TURN_COS = np.cos(np.radians(45.0))  # a near face this far turned from the last is another face
WHOLE_VIEW_M = 0.3  # a detection within this of its track's longest is a whole view (lengths jitter)
_NO_PAYLOAD = np.dtype([])


@dataclass(frozen=True)
class TrackerConfig:
    gate_m: float = bounded(
        0.1, 10.0, "distance from a prediction a detection may match (up to twice it, 3 sigma, for a track seen once)"
    )
    jerk_noise_mps3: float = bounded(0.01, 100.0, "process noise: unmodelled jerk (1 sigma)")
    small_object_m: float = bounded(0.0, 10.0, "detections no longer than this are people or bikes ...")
    small_jerk_noise_mps3: float = bounded(0.01, 1000.0, "... whose speed can change at once: their jerk noise")
    person_m: float = bounded(0.0, 10.0, "detections no longer than this are people-sized ...")
    person_max_speed_mps: float = bounded(
        0.1,
        100.0,
        "... and a people-sized track takes no people-sized detection farther than this moves (unless it"
        " continues the seen-once track it was born from)",
    )
    measurement_noise_m: float = bounded(0.001, 5.0, "detection centre noise (1 sigma)")
    anchor_spread_noise: float = bounded(
        0.0, 10.0, "m of noise (1 sigma) per m of spread of the returns a detection's centre averages"
    )
    partial_view_noise: float = bounded(
        0.0, 10.0, "m of noise (1 sigma) per m a detection is shorter than its track's longest view"
    )
    initial_speed_sigma_mps: float = bounded(0.1, 100.0, "velocity uncertainty of a new track")
    initial_accel_sigma_mps2: float = bounded(0.1, 50.0, "acceleration uncertainty of a new track")
    confirm_hits: int = bounded(1, 100, "detections before a track is confirmed")
    mature_hits: int = bounded(1, 1000, "detections before its velocity is trusted (score 0.9)")
    max_misses: int = bounded(0, 100, "frames a track survives without a detection (occlusion)")
    coast_misses: int = bounded(0, 100, "frames a mature track survives without one, predicted (a car behind a wall)")
    occluder_m: float = bounded(0.0, 20.0, "... while returns at least this much nearer hide its predicted place")

    RULES: ClassVar[tuple[Rule, ...]] = (
        below("confirm_hits", "mature_hits", "a track is confirmed before it matures", strict=False),
        below("max_misses", "coast_misses", "a mature track survives at least as long as a young one", strict=False),
    )


@dataclass(frozen=True)
class Assignment:
    """Per detection: its track id, velocity (and its 1-sigma uncertainty, m/s, the rms of the two
    axes') and acceleration (odom axes), and how established it is."""

    track_id: np.ndarray
    velocity: np.ndarray
    velocity_sigma: np.ndarray
    acceleration: np.ndarray
    confirmed: np.ndarray
    mature: np.ndarray


@functools.lru_cache(maxsize=16)  # scans come at a fixed rate: the same few dt over and over
def _transition(dt: float, jerk: float) -> tuple[np.ndarray, np.ndarray]:
    """One axis's transition matrix and process noise over ``dt``."""
    f = np.array([[1.0, dt, dt * dt / 2], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    g = np.array([[dt**3 / 6], [dt**2 / 2], [dt]])
    return f, g @ g.T * jerk**2


class Tracker:
    """Tracks as ``state`` (k, axis x/y, [position, velocity, acceleration]) and ``covariance`` (k, axis, 3, 3)."""

    def __init__(self, config: TrackerConfig, payload: np.dtype = _NO_PAYLOAD) -> None:
        """``payload``: what the caller keeps per track, refreshed by each detection (its shape)."""
        self.config = config
        self.ids = np.zeros(0, dtype=np.uint32)
        self.state = np.zeros((0, 2, 3))
        self.covariance = np.zeros((0, 2, 3, 3))
        self.hits = np.zeros(0, dtype=np.int32)
        self.misses = np.zeros(0, dtype=np.int32)
        self.small = np.zeros(0, dtype=bool)
        self.extent = np.zeros(0)  # longest detection seen on each track, m
        self.face = np.zeros((0, 2))  # unit vector along the last near face with a direction (0: none yet)
        # on a people-sized track seen once: the velocity it has if it continues the people-sized track
        # seen once that it was born beyond a person's reach of (NaN: none); see _continued
        self.continues = np.zeros((0, 2))
        self.payload = np.zeros(0, dtype=payload)
        self._next_id = 1
        self._stamp_ns: int | None = None
        sigmas = [config.measurement_noise_m, config.initial_speed_sigma_mps, config.initial_accel_sigma_mps2]
        self._initial_covariance = np.diag(np.square(sigmas))[None, None].repeat(2, axis=1)  # (1, axis, 3, 3)

    def update(
        self,
        centers: np.ndarray,
        stamp_ns: int,
        lengths: np.ndarray | None = None,
        payload: np.ndarray | None = None,
        along: np.ndarray | None = None,
        spread: np.ndarray | None = None,
        face: np.ndarray | None = None,
    ) -> Assignment:
        """Advance to ``stamp_ns`` and absorb ``(K, 2)`` detection centres (odom frame).

        ``lengths`` (the detections' longer side) marks people and bikes: a walker starts or stops
        within a step, so their tracks get the larger jerk noise and follow it in a scan or two,
        where a car's smooth model would lag for half a second; a detection shorter than its track's
        longest (a partial view) counts for less along ``along`` (K, 2), unit vectors along each
        detection's longer side (on both axes without it): what hides part of an object shifts its
        anchor along the side it shows, so a lead car seen from behind, whose view changes from a
        corner to its rear, keeps its range and braking measured. ``payload`` (K,) is stored on each
        detection's track from its whole views. ``spread`` (K, 2), m^2: the variance per axis of
        the returns each centre averages; the centre slides along them as they come and go (a
        car's face seen at an angle), ``anchor_spread_noise`` m of noise per m of their spread
        (small detections only). ``face`` (K, 2): unit vectors along each detection's near face (0
        where its returns are too few to say): when it turns from the track's last, another face has
        become the nearest and the anchor has jumped across it too.
        """
        dt = 0.0 if self._stamp_ns is None else max((stamp_ns - self._stamp_ns) / 1e9, 0.0)
        self._stamp_ns = stamp_ns
        self._predict(dt)
        track_of = self._associate(centers, dt, lengths)
        matched = track_of >= 0
        tracks = track_of[matched]
        continues = self._continued(centers[~matched], None if lengths is None else lengths[~matched], tracks, dt)
        variance = np.full((tracks.size, 2), self.config.measurement_noise_m**2)
        if spread is not None:
            # On the agile small-object model only: a car's smooth model averages its anchor's slides
            # out, where a walker-sized track takes each one as a step (a parked car's fragment
            # "crossing" at 2-4 m/s), so the slides are what its noise must cover.
            agile = np.ones(tracks.size, dtype=bool)
            if lengths is not None:
                agile = lengths[matched] <= self.config.small_object_m
            variance += self.config.anchor_spread_noise**2 * spread[matched] * agile[:, None]
        if lengths is not None:
            # A detection shorter than its track has been seen is a partial view (an occluder, the
            # edge of the field of view): its anchor may sit anywhere along the hidden part.
            hidden = np.maximum(self.extent[tracks] - lengths[matched], 0.0)
            spread = np.ones((tracks.size, 2)) if along is None else np.square(along[matched])
            if face is not None:
                # ... unless, on something larger than a person, another face has become the nearest
                # (a parked car's rear giving way to its side as we pass: the anchor jumps 0.9 m
                # across the face too), or the near face is too short to say which it is (a sliver,
                # a grazing side's nearest piece): then the hidden part may lie in any direction.
                seen, known = face[matched], self.face[tracks]
                defined = seen.any(axis=1)
                turned = known.any(axis=1) & (np.abs((seen * known).sum(axis=1)) < FACE_TURN_COS)
                spread[(~defined | turned) & (self.extent[tracks] > self.config.person_m)] = 1.0
                self.face[tracks[defined]] = seen[defined]
            variance += np.square(self.config.partial_view_noise * hidden)[:, None] * spread
            self.small[tracks] = lengths[matched] <= self.config.small_object_m
            self.extent[tracks] = np.maximum(self.extent[tracks], lengths[matched])
        self._correct(tracks, centers[matched], variance)
        self.hits[tracks] += 1
        self.misses += 1
        self.misses[track_of[matched]] = 0
        track_of[~matched] = self._birth(centers[~matched])
        self.continues[track_of[~matched]] = continues
        if lengths is not None:
            self.small[track_of[~matched]] = lengths[~matched] <= self.config.small_object_m
            self.extent[track_of[~matched]] = lengths[~matched]
        if face is not None:
            self.face[track_of[~matched]] = face[~matched]
        if payload is not None:  # kept from whole views: a track hidden behind a wall keeps its car's size
            whole = np.ones(track_of.size, dtype=bool)
            if lengths is not None:
                whole = lengths >= self.extent[track_of] - WHOLE_VIEW_M
            self.payload[track_of[whole]] = payload[whole]
        mature = self.hits >= self.config.mature_hits
        alive = self.misses <= np.where(mature, self.config.coast_misses, self.config.max_misses)
        rows = (np.cumsum(alive) - 1)[track_of]
        self._keep(alive)
        return Assignment(
            track_id=self.ids[rows].copy(),
            velocity=self.state[rows, :, 1],
            velocity_sigma=self.velocity_sigma(rows),
            acceleration=self.state[rows, :, 2],
            confirmed=self.hits[rows] >= self.config.confirm_hits,
            mature=self.hits[rows] >= self.config.mature_hits,
        )

    def velocity_sigma(self, rows: np.ndarray) -> np.ndarray:
        """1-sigma velocity uncertainty (m/s, rms over the axes) of the tracks at ``rows``."""
        return np.sqrt(self.covariance[rows, :, 1, 1].mean(axis=1))

    def coasting(self) -> np.ndarray:
        """Rows of the mature tracks that the last update did not see (predicted, not measured)."""
        return np.flatnonzero((self.misses > 0) & (self.hits >= self.config.mature_hits))

    def drop(self, rows: np.ndarray) -> None:
        """Delete the tracks at ``rows`` (coasting where the scan shows nothing hides them)."""
        keep = np.ones(self.ids.size, dtype=bool)
        keep[rows] = False
        self._keep(keep)

    def _predict(self, dt: float) -> None:
        if self.ids.size == 0 or dt == 0.0:
            return
        f, q = _transition(dt, self.config.jerk_noise_mps3)
        if self.small.any():
            q = np.where(self.small[:, None, None, None], _transition(dt, self.config.small_jerk_noise_mps3)[1], q)
        shape = self.covariance.shape
        self.state = (self.state.reshape(-1, 3) @ f.T).reshape(self.state.shape)
        # F P F^T for every filter as two single matrix products over the stacked rows (a batched
        # matmul loops per filter): P F^T stacked, transposed per filter (= F P), times F^T.
        pft = (self.covariance.reshape(-1, 3) @ f.T).reshape(-1, 3, 3)
        self.covariance = (pft.transpose(0, 2, 1).reshape(-1, 3) @ f.T).reshape(shape) + q

    def _associate(self, centers: np.ndarray, dt: float, lengths: np.ndarray | None) -> np.ndarray:
        """Track index per detection (-1 where no track within the gate)."""
        track_of = np.full(centers.shape[0], -1, dtype=np.intp)
        if centers.shape[0] == 0 or self.ids.size == 0:
            return track_of
        offset = centers[:, None, :] - self.state[None, :, :, 0]  # (detection, track, axis)
        square = offset * offset
        variance = self.covariance[:, :, 0, 0] + self.config.measurement_noise_m**2  # innovation, per axis
        # Negative log-likelihood: a confident track keeps its detection against a new track whose
        # unknown velocity makes it fit anything nearby (a roof ring born behind a lead vehicle).
        cost = (square / variance).sum(axis=2) + np.log(variance[:, 0] * variance[:, 1])
        # The gate: gate_m; for a track seen once, whose velocity is unknown, the prediction's 3-sigma
        # circle where that is wider, up to twice gate_m (a car at 120 km/h moves 3.3 m a scan in
        # odom: a fixed gate gave it a new track every scan, never a velocity). Never wider for a
        # track coasting unseen: its stale velocity would be pinned on whatever appears near it.
        gate = self.config.gate_m
        reach = np.clip(GATE_SIGMAS**2 * variance.max(axis=1), gate**2, (2 * gate) ** 2)
        reach = np.where(self.hits == 1, reach, gate**2)[None, :]  # (detection, track)
        if lengths is not None:
            # A person does not move 1.4 m in a scan: a people-sized track (a sliver of a car's face,
            # a walker) takes a people-sized detection only within a person's reach since it was last
            # seen, so a child stepping out beside a parked car gets a track of its own, not a
            # fragment's 14 m/s. (A car seen first as a sliver grows past person-size as it nears.)
            cfg = self.config
            unseen_s = dt * (self.misses + 1)
            person = cfg.person_max_speed_mps * unseen_s + GATE_SIGMAS * cfg.measurement_noise_m
            # ... unless it continues the seen-once track it was born from: something people-sized
            # but faster (a motorcycle going our way at 80 km/h moves 2.3 m a scan in odom).
            capped = (lengths <= cfg.person_m)[:, None] & (self.extent <= cfg.person_m)[None, :]
            carried = np.square(offset - (self.continues * unseen_s[:, None])[None]).sum(axis=2)  # NaN: none
            within = (square.sum(axis=2) <= person**2) | (carried <= person**2)
            reach = np.where(capped & ~within, -1.0, reach)
        cost = np.where(square.sum(axis=2) <= reach, cost, _UNGATED)
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] < _UNGATED
        track_of[rows[ok]] = cols[ok]
        return track_of

    def _correct(self, tracks: np.ndarray, measured: np.ndarray, variance: np.ndarray) -> None:
        """Kalman update of ``tracks`` with positions ``measured`` (K, 2) and their ``variance`` (K, axis)."""
        if tracks.size == 0:
            return
        p = self.covariance[tracks]
        # H selects the position: P H^T is P's first column, S = H P H^T + R a scalar per axis, and
        # K = P H^T / S; (I - K H) P = P - K (H P), where H P, P's first row, is that column again.
        column = p[:, :, :, 0]
        gain = column / (column[:, :, :1] + variance[:, :, None])
        innovation = measured - self.state[tracks, :, 0]
        self.state[tracks] += gain * innovation[:, :, None]
        self.covariance[tracks] = p - gain[:, :, :, None] * column[:, :, None, :]

    def _continued(self, centers: np.ndarray, lengths: np.ndarray | None, matched: np.ndarray, dt: float) -> np.ndarray:
        """Per unmatched detection, the velocity from the nearest people-sized track seen once and not
        seen now to it, where that is beyond a person's reach and within a seen-once track's widest
        gate (NaN elsewhere, and without lengths).

        Only the gate uses it (:meth:`_associate`), never the state: the next scan says which it is. A
        child stepping out 1.6 m from a parked car's fragment is where it was (a person's reach from
        its own track, which never took the fragment's jump), a motorcycle has moved on by the same
        step again.
        """
        out = np.full((centers.shape[0], 2), np.nan)
        if lengths is None or centers.shape[0] == 0:
            return out
        cfg = self.config
        parent = (self.hits == 1) & (self.extent <= cfg.person_m)
        parent[matched] = False
        people = lengths <= cfg.person_m
        if not parent.any() or not people.any():
            return out
        rows = np.flatnonzero(parent)
        unseen_s = dt * (self.misses[rows] + 1)
        step = centers[people][:, None, :] - self.state[rows][None, :, :, 0]  # (detection, parent, axis)
        distance = np.sqrt(np.square(step).sum(axis=2))
        person = cfg.person_max_speed_mps * unseen_s + GATE_SIGMAS * cfg.measurement_noise_m
        distance = np.where((distance > person) & (distance <= 2 * cfg.gate_m), distance, np.inf)
        nearest = distance.argmin(axis=1)
        found = np.isfinite(distance.min(axis=1))
        index = np.flatnonzero(people)[found]
        out[index] = step[found, nearest[found]] / unseen_s[nearest[found], None]
        return out

    def _birth(self, centers: np.ndarray) -> np.ndarray:
        """Start a track per centre; returns their row indices."""
        k, first = centers.shape[0], self.ids.size
        if k == 0:
            return np.zeros(0, dtype=np.intp)
        self.ids = np.concatenate([self.ids, np.arange(self._next_id, self._next_id + k, dtype=np.uint32)])
        self._next_id += k
        state = np.zeros((k, 2, 3))
        state[:, :, 0] = centers
        self.state = np.concatenate([self.state, state])
        self.covariance = np.concatenate([self.covariance, self._initial_covariance.repeat(k, axis=0)])
        self.hits = np.concatenate([self.hits, np.ones(k, dtype=np.int32)])
        self.misses = np.concatenate([self.misses, np.zeros(k, dtype=np.int32)])
        self.small = np.concatenate([self.small, np.zeros(k, dtype=bool)])
        self.extent = np.concatenate([self.extent, np.zeros(k)])
        self.face = np.concatenate([self.face, np.zeros((k, 2))])
        self.continues = np.concatenate([self.continues, np.full((k, 2), np.nan)])
        self.payload = np.concatenate([self.payload, np.zeros(k, dtype=self.payload.dtype)])
        return np.arange(first, first + k)

    def _keep(self, alive: np.ndarray) -> None:
        self.ids, self.state, self.covariance = self.ids[alive], self.state[alive], self.covariance[alive]
        self.hits, self.misses, self.small = self.hits[alive], self.misses[alive], self.small[alive]
        self.extent, self.face, self.payload = self.extent[alive], self.face[alive], self.payload[alive]
        self.continues = self.continues[alive]
