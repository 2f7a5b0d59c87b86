"""Fusion benchmarks: our latency-bounded collector against a message_filters-style approximate-time
policy on one stream with a lagging and a dropping camera (``fusion_added_ms_*``,
``fusion_completeness_*``), and class accuracy on day scenarios of the suite (``fusion_class_accuracy``)."""

from __future__ import annotations

import numpy as np

from av_edge.bench.metrics import Metrics
from av_edge.core.fusion.collector import FusionCollector

PERIOD_MS = 100
SCAN_READY_MS = 15  # LiDAR perception done this long after the scan stamp
DETECT_MS = 40  # camera detection done this long after the image stamp
LAG_MS = 80  # the lagging camera's extra delay
DROP_RATE = 0.3  # the dropping camera loses this share of its frames


def stream(scans: int, seed: int = 0) -> list[tuple[int, str, int]]:
    """(arrival ms, source, stamp ms) events: scans, and detections of cameras a (normal), lag, drop."""
    rng = np.random.default_rng(seed)
    events = []
    for k in range(scans):
        stamp = k * PERIOD_MS
        events.append((stamp + SCAN_READY_MS, "scan", stamp))
        events.append((stamp + DETECT_MS, "a", stamp))
        events.append((stamp + DETECT_MS + LAG_MS, "lag", stamp))
        if rng.random() >= DROP_RATE:
            events.append((stamp + DETECT_MS, "drop", stamp))
    return sorted(events)


def ours(events: list[tuple[int, str, int]]) -> tuple[list[float], int]:
    """Added wait (ms) of every scan's object list, and how many scans went out (the params file's
    tolerance, timeout and staleness)."""
    from av_edge.suite.stack import StackConfig

    ms = 1_000_000
    cfg = StackConfig.load().perception.fusion
    collector: FusionCollector[int, None] = FusionCollector(
        ("a", "lag", "drop"), cfg.tolerance_s, cfg.timeout_s, cfg.stale_s
    )
    added: list[float] = []
    ready: dict[int, int] = {}
    end = events[-1][0] + round(cfg.timeout_s * 1e3) + 1
    queue = iter(events)
    event = next(queue, None)
    for now in range(end + 1):  # 1 ms ticks: the node's release timer (10 ms) plus event-driven calls
        while event is not None and event[0] == now:
            arrival, source, stamp = event
            if source == "scan":
                collector.add_scan(stamp * ms, stamp, now * ms)
                ready[stamp] = arrival
            else:
                collector.add_camera(source, stamp * ms, None, now * ms)
            event = next(queue, None)
        for done in collector.release(now * ms):
            added.append(now - ready[done.scan])
    return added, len(added)


def approximate_time(events: list[tuple[int, str, int]]) -> tuple[list[float], int]:
    """The message_filters ApproximateTimeSynchronizer behaviour on this stream: a set goes out when every
    input has a message of that moment; a set missing one (a dropped frame) never goes out, silently."""
    arrivals: dict[int, dict[str, int]] = {}
    for arrival, source, stamp in events:
        arrivals.setdefault(stamp, {})[source] = arrival
    added = [
        float(max(sources.values()) - sources["scan"])
        for sources in arrivals.values()
        if {"scan", "a", "lag", "drop"} <= set(sources)
    ]
    return added, len(added)


def fusion_collector(scans: int = 600) -> Metrics:
    events = stream(scans)
    our_added, our_out = ours(events)
    approx_added, approx_out = approximate_time(events)
    return {
        "fusion_added_ms_ours": round(float(np.percentile(our_added, 99)), 1),
        "fusion_added_ms_approx_time": round(float(np.percentile(approx_added, 99)), 1),
        "fusion_added_ms_p50_ours": round(float(np.percentile(our_added, 50)), 1),
        "fusion_added_ms_p50_approx_time": round(float(np.percentile(approx_added, 50)), 1),
        "fusion_completeness_ours": round(our_out / scans, 3),
        "fusion_completeness_approx_time": round(approx_out / scans, 3),
    }


def fusion_class_accuracy(every: int = 1) -> Metrics:
    """Class accuracy over every ``every``-th day lead-vehicle and pedestrian scenario of the catalog."""
    from av_edge.paths import config_file
    from av_edge.sim.catalog import ego_geometry
    from av_edge.sim.scenario import load_catalog
    from av_edge.suite.fusion_eval import class_accuracy
    from av_edge.suite.stack import StackConfig

    stack = StackConfig.load()
    catalog = load_catalog(config_file("scenarios"), ego_geometry(stack.sim))
    day = [s for s in catalog if s.lighting == "day" and s.category in ("lead_vehicle", "pedestrian")][::every]
    result = class_accuracy(day, stack)
    return {
        "fusion_class_accuracy": round(result.accuracy, 3),
        "fusion_class_frames": float(result.total),
        "fusion_class_scenarios": float(len(day)),
    }


def fusion(scans: int = 600) -> Metrics:
    return {**fusion_collector(scans), **fusion_class_accuracy()}
