"""Sensor stamp -> brake command latency across processes over DDS, per deployed configuration.

Every answer counts: a reply keeps its real latency however late it comes (``late``: over the
100 ms budget), a scan never answered is ``lost``; nothing is capped, dropped or clipped.
Configurations run interleaved in repeated blocks, so a slow spell of a shared machine falls on
all of them, and each p99 is compared with ``idle``'s by a bootstrap 95 % interval of the ratio.
Simulated scans, CPU only, no TensorRT.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from av_edge import processes, topics
from av_edge.bench.metrics import Metrics
from av_edge.clips.local_s3 import CLOUD_NICENESS, CREDENTIALS, MotoServer
from av_edge.clips.spool import Spool
from av_edge.core.camera import load_rig
from av_edge.core.clips.config import RecorderConfig
from av_edge.core.config import build_config, load_params_file
from av_edge.core.diagnostics import Status
from av_edge.core.image import array_to_image
from av_edge.core.pointcloud import array_to_cloud
from av_edge.paths import config_file
from av_edge.ros.messages import camera_info_msg, cloud_msg, image_msg, statuses
from av_edge.ros.qos import qos_profile
from av_edge.sim.catalog import find_scenario
from av_edge.sim.render import NOISE_FRAMES
from av_edge.sim.simulation import Simulation
from av_edge.suite.stack import StackConfig

BUDGET_MS = 100.0  # sensor capture -> brake command
GRACE_S = 2.0  # after the last scan, replies still count (with their latency) for this long
CONFIGS = ("aeb_only", "idle", "recording", "uploading", "uploading_uncapped", "model_update")
BUCKET = "av-edge-bench"
CLIP_MIB = 48
CLIPS = 40  # ~1.9 GiB queued: more than a block can upload, so the uploader never idles


@dataclasses.dataclass
class Samples:
    """Latencies (ms) of answered scans and the count of scans never answered."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    lost: int = 0

    def add(self, other: Samples) -> None:
        self.latencies += other.latencies
        self.lost += other.lost


def summary(samples: Samples, budget_ms: float = BUDGET_MS) -> dict[str, float]:
    """p50, p99, max (ms), lost and late (over ``budget_ms``) of every sample."""
    values = np.asarray(samples.latencies, float)
    if values.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "lost": float(samples.lost), "late": 0.0}
    p50, p99 = np.percentile(values, [50, 99])
    return {
        "p50": round(float(p50), 2),
        "p99": round(float(p99), 2),
        "max": round(float(values.max()), 2),
        "lost": float(samples.lost),
        "late": float(np.count_nonzero(values > budget_ms)),
    }


def p99_ratio_interval(
    config: Sequence[float], reference: Sequence[float], resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """p99(config) / p99(reference) and its bootstrap 95 % interval (both sides resampled)."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(config, float), np.asarray(reference, float)
    ratio = float(np.percentile(a, 99) / np.percentile(b, 99))
    draws = np.percentile(rng.choice(a, (resamples, a.size)), 99, axis=1) / np.percentile(
        rng.choice(b, (resamples, b.size)), 99, axis=1
    )
    low, high = np.percentile(draws, [2.5, 97.5])
    return round(ratio, 3), round(float(low), 3), round(float(high), 3)


def aeb_latency(frames: int = 900, rounds: int = 3) -> Metrics:
    """The AEB's scan -> brake latency in five configurations, ``frames`` scans each over ``rounds``
    interleaved blocks (the order rotating per round):

    - ``aeb_only``: ``aeb_node`` alone;
    - ``idle``: with ``perception_node`` on the same scans and three camera images per scan (detection
      and fusion running), nothing else: the deployed braking stack;
    - ``recording``: idle + ``clip_recorder_node`` recording the LiDAR stream, uploader off;
    - ``uploading``: recording + uploading a full spool to a local S3 API (moto) at the shipped
      ``uploader.bandwidth_mbit_s`` (as deployed);
    - ``uploading_uncapped``: the same with no bandwidth cap (as fast as this machine moves bytes);
    - ``model_update``: idle + ``model_updater_node`` downloading a new detector package from a local
      TUF repository on moto, verifying it, and the perception node shadow-evaluating it on the live
      batches and switching to it (:func:`_with_model_update`). ``model_update_switched`` counts the
      blocks in which the switch happened (of ``rounds``): a block without it measured less.

    Cores are partitioned as on a vehicle computer (and as ``deploy/systemd`` does): the AEB
    (``taskset``) and the probe (the LiDAR driver) on all cores but the last; perception
    (``taskset``), the recorder (its ``cpus`` parameter) and moto (standing in for the cloud, which
    costs the vehicle nothing) on the last, off the AEB's.
    ``upload_mb_per_s`` (uncapped) and ``upload_mb_per_s_capped`` are bytes completed in the bucket
    over those blocks' wall time.
    """
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    cores = sorted(os.sched_getaffinity(0))
    spare, braking_cores = (cores[-1],), cores[:-1] or cores
    pins = {"aeb_node": ",".join(map(str, braking_cores)), "perception_node": ",".join(map(str, spare))}
    os.sched_setaffinity(0, braking_cores)  # the probe's DDS threads, started per run, inherit it
    try:
        return _interleaved(frames // rounds, rounds, spare, pins)
    finally:
        os.sched_setaffinity(0, cores)


def _interleaved(block: int, rounds: int, spare: tuple[int, ...], pins: dict[str, str]) -> Metrics:
    samples = {name: Samples() for name in CONFIGS}
    uploaded = {"uploading": [0.0, 0.0], "uploading_uncapped": [0.0, 0.0]}  # bytes, wall s
    capped_mbit_s = build_config(
        RecorderConfig, load_params_file(config_file("clip_recorder.params.yaml"), "clip_recorder_node")
    ).uploader.bandwidth_mbit_s
    braking_stack = ("aeb_node", "perception_node")
    recorder = ("clip_recorder_node",)
    model_switches = 0
    for r in range(rounds):
        order = CONFIGS[r % len(CONFIGS) :] + CONFIGS[: r % len(CONFIGS)]
        for name in order:
            print(f"  round {r + 1}/{rounds}: {name}", flush=True)
            if name == "aeb_only":
                result = replay_samples(("aeb_node",), frames=block, cpus=pins)
            elif name == "idle":
                result = replay_samples(braking_stack, frames=block, cpus=pins, cameras=True)
            elif name == "recording":
                params = {"clip_recorder_node": _recorder_params(spare, "uploader.enabled:=false")}
                stack = braking_stack + recorder
                result = replay_samples(stack, frames=block, node_params=params, cpus=pins, cameras=True)
            elif name == "model_update":
                result, switched = _with_model_update(block, spare, pins)
                model_switches += switched
            else:
                cap = capped_mbit_s if name == "uploading" else 0.0
                result, sent, wall_s = _with_uploader(block, spare, pins, cap)
                uploaded[name][0] += sent
                uploaded[name][1] += wall_s
            samples[name].add(result)
    metrics: Metrics = {}
    for name, found in samples.items():
        for key, value in summary(found).items():
            label = {"p50": "p50_ms", "p99": "p99_ms", "max": "max_ms"}.get(key, key)
            metrics[f"aeb_latency_{label}_{name}"] = value
        if name != "idle" and found.latencies and samples["idle"].latencies:
            ratio, low, high = p99_ratio_interval(found.latencies, samples["idle"].latencies)
            metrics[f"aeb_latency_p99_ratio_{name}_vs_idle"] = ratio
            metrics[f"aeb_latency_p99_ratio_{name}_vs_idle_ci95_low"] = low
            metrics[f"aeb_latency_p99_ratio_{name}_vs_idle_ci95_high"] = high
    for key, name in (("upload_mb_per_s", "uploading_uncapped"), ("upload_mb_per_s_capped", "uploading")):
        total_bytes, seconds = uploaded[name]
        metrics[key] = round(total_bytes / 1e6 / seconds, 2) if seconds else 0.0
    metrics["model_update_switched"] = float(model_switches)
    return metrics


def _recorder_params(cpus: tuple[int, ...], *extra: str) -> list[str]:
    return [f"cpus:='{','.join(map(str, cpus))}'", *extra]  # quoted: YAML would read 1 as a number


def _with_uploader(
    frames: int, cpus: tuple[int, ...], pins: dict[str, str], bandwidth_mbit_s: float
) -> tuple[Samples, int, float]:
    """Latency with the recorder + uploader busy; bytes that reached the bucket and the wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        server = MotoServer(Path(tmp) / "moto.log", niceness=CLOUD_NICENESS, cpus=cpus)
        server.start()
        try:
            client = server.client()
            client.create_bucket(Bucket=BUCKET)
            spool_dir = Path(tmp) / "spool"
            _fill_spool(spool_dir, Path(tmp) / "payload.bin")
            params = _recorder_params(
                cpus,
                f"spool.directory:={spool_dir}",
                f"uploader.endpoint_url:={server.endpoint}",
                f"uploader.bucket:={BUCKET}",
                "uploader.region:=us-east-1",
                f"uploader.bandwidth_mbit_s:={bandwidth_mbit_s}",
            )
            started = time.monotonic()
            result = replay_samples(
                ("aeb_node", "perception_node", "clip_recorder_node"),
                frames=frames,
                node_params={"clip_recorder_node": params},
                cpus=pins,
                cameras=True,
            )
            wall_s = time.monotonic() - started
            listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            sent = sum(int(obj["Size"]) for obj in listed)
        finally:
            server.stop()
    return result, sent, wall_s


#: The download spans about half a block (the 0.62 MB package at 0.4 Mbit/s: ~13 s), then the shadow
#: run (20 batches at 2 Hz) and the switch; the shipped cap (5 Mbit/s) would finish it in a second.
MODEL_UPDATE_MBIT_S = 0.4


def _with_model_update(frames: int, cpus: tuple[int, ...], pins: dict[str, str]) -> tuple[Samples, int]:
    """Latency while a model downloads, is shadow-evaluated and switched; 1 when the switch happened.

    Pauses are off (downloads and the switch would otherwise wait for the braking these scans
    cause): this measures the update racing the AEB, the worst case."""
    from av_edge.core.detection.manifest import load_package, write_package
    from av_edge.core.update.cache import CURRENT, ModelCache
    from av_edge.detection.detector import resolve_package
    from av_edge.fleet.keys import generate_keys
    from av_edge.fleet.repository import FleetRepository, upload

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = MotoServer(root / "moto.log", niceness=CLOUD_NICENESS, cpus=cpus)
        server.start()
        try:
            client = server.client()
            client.create_bucket(Bucket=BUCKET)
            generate_keys(root / "keys")
            repo = FleetRepository(root / "repo", root / "keys")
            repo.create()
            shipped = load_package(resolve_package("sim_detector"))
            name = shipped.manifest.name
            write_package(root / "pkg", dataclasses.replace(shipped.manifest, version="9.0.0"), shipped.onnx_bytes)
            repo.publish(root / "pkg", "9.0.0", "0.0.1")
            repo.rollout(name, "9.0.0", 100.0)
            upload(repo.root_dir, client, BUCKET, "fleet")
            cache = root / "updates"
            updater = [
                f"repository_url:={server.endpoint}/{BUCKET}/fleet",
                f"trust_root:={repo.metadata_dir / '1.root.json'}",
                f"cache_directory:={cache}",
                f"model_name:={name}",
                f"bandwidth_mbit_s:={MODEL_UPDATE_MBIT_S}",
                "chunk_kib:=64",
                "poll_period_s:=1.0",
                "brake_pause_mps2:=20.0",
                "pause_hold_s:=0.0",
            ]
            perception = [
                f"camera_detection.update_directory:={cache / 'models' / name}",
                "camera_detection.shadow.frames:=20",
                "camera_detection.shadow.calm_s:=0.0",
            ]
            result = replay_samples(
                ("aeb_node", "perception_node", "model_updater_node"),
                frames=frames,
                node_params={"model_updater_node": updater, "perception_node": perception},
                cpus={**pins, "model_updater_node": ",".join(map(str, cpus))},
                cameras=True,
            )
            switched = int(ModelCache(cache / "models" / name).pointer(CURRENT) == "9.0.0")
        finally:
            server.stop()
    return result, switched


def _fill_spool(root: Path, payload: Path) -> None:
    """``CLIPS`` entries sharing one incompressible payload through hard links (no 2 GB of writes)."""
    with payload.open("wb") as f:
        for _ in range(CLIP_MIB):
            f.write(os.urandom(1 << 20))
    spool = Spool(root, 1 << 40, evict_protected=False, log=print)
    for i in range(CLIPS):
        spool.add(f"bench_{i:03d}", 100, i, True, {"kind": "bench"}, lambda tmp: os.link(payload, tmp / "clip.mcap"))


def replay_samples(
    stack: tuple[str, ...],
    frames: int = 200,
    rate_hz: float = 10.0,
    warmup: int = 10,
    node_params: Mapping[str, Sequence[str]] | None = None,
    statuses_out: list[Status] | None = None,
    cameras: bool = False,
    cpus: Mapping[str, str] | None = None,
) -> Samples:
    """Sensor stamp -> brake command received (ms per answered frame, frames never answered), across
    processes over DDS with the shipped profile.

    A probe process replays simulated ~100k-point scans of an approach to a stalled car at real time
    (stamped as it publishes, like a driver) to an ``aeb_node`` process; every answer is matched to its
    scan afterwards, whenever it came. The first ``warmup`` frames (discovery still settling) are not
    counted. ``node_params`` adds
    ``name:=value`` overrides per node; ``statuses_out`` receives the ``/diagnostics`` statuses seen;
    ``cameras`` also publishes an image (and CameraInfo) of every rig camera with each scan, so camera
    detection and fusion run in the perception process meanwhile. ``cpus`` pins nodes to cores
    (``taskset -c`` lists), as an integrator partitions a vehicle computer (systemd ``CPUAffinity=``,
    a launch ``prefix``).
    """
    env = processes.dds_environment()
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"]
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    from av_edge.ros.probe import VehicleProbe

    scans = approach_scans(count=20)
    with tempfile.TemporaryDirectory() as tmp:
        params, pinned = node_params or {}, cpus or {}

        def command(node: str) -> list[str]:
            pin = ["taskset", "-c", pinned[node]] if node in pinned else []
            return pin + processes.node_command(node, params.get(node, ()))

        nodes = [processes.start(command(n), env, Path(tmp) / f"{n}.log") for n in stack]
        probe = None
        try:
            probe = VehicleProbe(int(env["ROS_DOMAIN_ID"]), "bench_probe")
            if not probe.wait_for_aeb(30.0):
                raise RuntimeError("aeb_node did not come up: " + (Path(tmp) / "aeb_node.log").read_text()[-2000:])
            publish_images = _camera_publisher(probe) if cameras else (lambda stamp: None)
            period = 1.0 / rate_hz
            for _ in range(warmup):  # discovery settling: not counted
                probe.publish_speed(13.9)
                probe.publish_cloud(scans[0])
                time.sleep(period)
            time.sleep(GRACE_S)
            stamps = []
            next_time = time.monotonic()
            for i in range(frames):
                probe.publish_speed(13.9)
                stamp = probe.publish_cloud(scans[i % len(scans)])
                stamps.append(stamp)
                publish_images(stamp)
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
            time.sleep(GRACE_S)  # late replies still count, with their latency
            answered = probe.first_brake_per_stamp()
            result = Samples([answered[s].latency_ms for s in stamps if s in answered])
            result.lost = sum(s not in answered for s in stamps)
        finally:
            if probe is not None:
                if statuses_out is not None:
                    statuses_out.extend(st for msg in probe.diagnostics for st in statuses(msg))
                probe.close()
            for node in nodes:
                processes.stop(node)
    return result


def _camera_publisher(probe: Any) -> Callable[[int], None]:
    """Publishes one rendered image (+ CameraInfo) per rig camera, stamped like the scan."""
    from sensor_msgs.msg import CameraInfo, Image

    stack = StackConfig.load()
    rig = load_rig(config_file("vehicle.yaml"))
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    sim = Simulation(stack.sim, scenario, 0, rig)
    renders = [sim.render(0) for _ in range(NOISE_FRAMES)]  # cycled: one frame resent reads as a frozen camera
    outputs = []
    for camera in rig:
        image_pub = probe.node.create_publisher(
            Image, topics.CAMERA_IMAGE.format(camera=camera.name), qos_profile(topics.CAMERA_IMAGE.qos)
        )
        info_pub = probe.node.create_publisher(
            CameraInfo, topics.CAMERA_INFO.format(camera=camera.name), qos_profile(topics.CAMERA_INFO.qos)
        )
        outputs.append((camera, image_pub, info_pub, [array_to_image(r[camera.name], "bgr8") for r in renders]))
    time.sleep(1.0)  # discovery
    sent = itertools.count()

    def publish(stamp: int) -> None:
        frame = next(sent) % NOISE_FRAMES
        for camera, image_pub, info_pub, bodies in outputs:
            image_pub.publish(image_msg(bodies[frame], stamp, camera.optical_frame))
            info_pub.publish(camera_info_msg(camera, stamp))

    return publish


def approach_scans(count: int) -> list:  # type: ignore[type-arg]
    """``count`` PointCloud2 scans of the 50 km/h stalled-car scenario, 60 m down to 10 m from the car."""
    stack = StackConfig.load()
    scenario = find_scenario(config_file("scenarios"), "lead_stopped_50kmh_100pct", stack.sim)
    scenario = dataclasses.replace(scenario, actors=(dataclasses.replace(scenario.actors[0], s=65.0),))
    simulation = Simulation(stack.sim, scenario, start_ns=0)
    scans = []
    for x in np.linspace(0.0, 50.0, count):
        simulation.ego.x = float(x)
        scans.append(cloud_msg(array_to_cloud(simulation.capture(0)), 0, stack.lidar_frame))
    return scans
