"""Deterministic lock-step runs: simulator, perception and AEB handlers in one process.

Each scan is answered before time moves on; the brake command acts ``latency_budget_ms`` after
the scan's stamp (a conservative worst case), so outcomes do not depend on how loaded the machine
is, while the AEB's measured wall-clock time per scan is recorded and every one over the budget
counts as a deadline miss. The perception output of a scan reaches the AEB ``objects_delay_ms``
(20 ms) after its stamp, i.e. the AEB decides on scan k with the objects of scan k-1, as it does over
DDS, and escalates (never releases) on the list of scan k when it arrives; that command acts as
scan k's. With ``full_stack`` the cameras are rendered, detected and fused every scan as in the
perception node (:mod:`av_edge.suite.full_stack`), and the fused list arrives after
``fused_objects_delay_ms``; by day the oracle also sees what a camera shows 20 px tall. Every 50 ms, as
the node's watchdog timer, the AEB's degraded command (if any) acts and its availability telltale
is read: a run records when it first left "available" (``telltale_s``) and when the scenario's
first sensor fault began (``fault_onset_s``; a camera fault only in the full stack); a dead LiDAR
publishes no scans from then on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from geometry_msgs.msg import AccelStamped

from av_edge import topics
from av_edge.core.aeb import AebCore, AebState, Availability
from av_edge.core.aeb.path import corridor_outline
from av_edge.core.aeb.threat import as_path, corridor_half_width
from av_edge.core.camera import CameraConfig
from av_edge.core.ego import EgoPose
from av_edge.core.image import array_to_image
from av_edge.core.objects import encode_objects
from av_edge.core.pointcloud import array_to_cloud
from av_edge.ros.fusion_handler import ScanObjects
from av_edge.ros.handlers import AebHandler, PerceptionHandler
from av_edge.ros.messages import camera_info_msg, cloud_msg, image_msg, path_msg, stamp_to_ns
from av_edge.ros.planner_handler import PlannerHandler
from av_edge.ros.sim_io import odometry
from av_edge.sim.scenario import Scenario, lane_centre
from av_edge.sim.simulation import Simulation
from av_edge.suite.bag import BagRecorder
from av_edge.suite.full_stack import CameraStack
from av_edge.suite.planning_check import PlanningCheck, road_reference
from av_edge.suite.stack import StackConfig

STEP_NS = 10_000_000
ODOMETRY_PERIOD_NS = 20_000_000
WATCHDOG_PERIOD_NS = 50_000_000  # aeb_node's watchdog timer (20 Hz): degraded commands and the telltale


@dataclass(frozen=True)
class Snapshot:
    """The scene when braking began (or at the end): for the bird's-eye plot."""

    t: float
    ego: np.ndarray  # (4, 2) footprint, odom
    actors: list[np.ndarray]  # footprints
    points: np.ndarray  # (N, 2) odom, a subsample of the last scan
    corridor: np.ndarray | None = None  # (M, 2) odom outline of the AEB's corridor along its predicted path


@dataclass(frozen=True)
class RunResult:
    record: dict[str, Any]
    series: dict[str, list[float]]
    log: list[str]
    snapshot: Snapshot | None = None


def run_lockstep(
    scenario: Scenario,
    stack: StackConfig,
    recorder: BagRecorder | None = None,
    perception: bool = True,
    cameras: Sequence[CameraConfig] = (),
    full_stack: bool = False,
) -> RunResult:
    """One scenario, lock-step. ``cameras`` are rendered with each scan (recorded when recording);
    with ``full_stack`` they are also detected and fused, and the AEB gets the fused list."""
    sim = Simulation(stack.sim, scenario, 0, cameras)
    log: list[str] = []
    record = recorder.write if recorder else (lambda topic, msg, t: None)
    aeb = _aeb(scenario, stack, log, record)
    seeing = PerceptionHandler(stack.perception, log.append) if perception else None
    camera_stack = CameraStack(stack.perception, cameras, log.append) if full_stack and seeing else None
    planning = _planning(scenario, stack, log) if perception and scenario.category == "planning" else None
    budget_ns, scan_period_ns = int(stack.sim.latency_budget_ms * 1e6), int(1e9 / stack.sim.lidar.rate_hz)
    now = next_scan = next_odometry = next_watchdog = 0
    telltale_s: float | None = None  # when the availability telltale first said anything but "available"
    pending_objects: list[tuple[int, int, Any]] = []  # (due at the AEB, scan stamp, object list)
    snapshot: Snapshot | None = None
    scan = np.zeros((0, 3))
    warned = False  # a forward-collision warning (or more) at any time
    while not sim.finished(now):
        sim.advance(now)
        while pending_objects and pending_objects[0][0] <= now:  # an escalation acts as its scan's command
            _, stamp, objects = pending_objects.pop(0)
            commands: list[AccelStamped] = []
            started = time.perf_counter()
            aeb.on_objects(objects, now, commands.append)
            latency_ms = (now - stamp) / 1e6 + (time.perf_counter() - started) * 1e3
            snapshot = _act(commands, aeb, sim, record, now, budget_ns, latency_ms, snapshot, scan)
        if now >= next_odometry:
            _odometry(sim, aeb, seeing, record, now)
            next_odometry += ODOMETRY_PERIOD_NS
        if now >= next_scan and sim.lidar_alive(now):
            scan, cloud = _capture(sim, stack, record, camera_stack, now)
            started = time.perf_counter()
            commands = []
            aeb.on_cloud(cloud, now, commands.append)
            latency_ms = (time.perf_counter() - started) * 1e3
            snapshot = _act(commands, aeb, sim, record, now, budget_ns, latency_ms, snapshot, scan)
            if seeing:
                pending_objects += _perceive(seeing, cloud, now, record, planning, sim, camera_stack)
        elif now >= next_scan and camera_stack and seeing:  # a dead LiDAR: the cameras go on
            pending_objects += _cameras_alone(sim, record, camera_stack, seeing, now)
        warned |= aeb.core.state is not AebState.CRUISE
        if now >= next_scan:
            next_scan += scan_period_ns
        if now >= next_watchdog:  # between scans, as the node's timer: a dead sensor is noticed
            telltale_s = _watchdog(aeb, sim, now, budget_ns, telltale_s, camera_stack)
            next_watchdog += WATCHDOG_PERIOD_NS
        now += STEP_NS
    result = sim.result()
    stages = {"stack": "full", "stage_ms": camera_stack.summary()} if camera_stack else {"stack": "lidar"}
    result.update(
        fcw=warned, fault_onset_s=sim.fault_onset_s(camera_stack is not None), telltale_s=telltale_s, **stages
    )
    if planning is not None:
        _planning_outcome(result, planning[1], scenario)
    return RunResult(result, sim.series, log, snapshot or take_snapshot(sim, now, scan, aeb.core))


def _act(
    commands: list[AccelStamped],
    aeb: AebHandler,
    sim: Simulation,
    record: Any,
    now: int,
    budget_ns: int,
    latency_ms: float,
    snapshot: Snapshot | None,
    scan: np.ndarray,
) -> Snapshot | None:
    """Apply the AEB's ``commands``, published ``latency_ms`` after the scan their stamp names: each acts
    ``budget_ns`` after that scan. Returns the braking snapshot (taken at the first brake)."""
    for command in commands:
        stamp = stamp_to_ns(command.header.stamp)
        aeb.on_published(command, stamp + int(latency_ms * 1e6))
        sim.on_brake_command(command.accel.linear.x, stamp, stamp + budget_ns, latency_ms)
        if snapshot is None and command.accel.linear.x < 0:
            snapshot = take_snapshot(sim, now, scan, aeb.core)
        record(topics.BRAKE_COMMAND.name, command, stamp + int(latency_ms * 1e6))
    return snapshot


def _perceive(
    seeing: PerceptionHandler,
    cloud: Any,
    now: int,
    record: Any,
    planning: tuple[PlannerHandler, PlanningCheck] | None,
    sim: Simulation,
    camera_stack: CameraStack | None,
) -> list[tuple[int, int, Any]]:
    """Perception on a scan: its object lists (fused with the cameras' detections in the full stack),
    each due at the AEB after the stack's delay."""
    started = time.perf_counter()
    output = seeing.on_cloud(cloud, now)
    lidar_ms = (time.perf_counter() - started) * 1e3
    if output is None:
        return []
    if camera_stack is None:
        lists, delay_ms = [output.objects], sim.config.objects_delay_ms
    else:
        scan = ScanObjects(now, output.frame.objects, seeing.ego_motion(now))
        lists, delay_ms = camera_stack.fuse(scan, lidar_ms, now), sim.config.fused_objects_delay_ms
    due = now + int(delay_ms * 1e6)
    for objects in lists:
        record(topics.OBJECTS.name, objects, due)
    if planning is not None:
        _plan_and_check(planning, sim, output.frame, now)
    return [(due, now, objects) for objects in lists]


def _odometry(sim: Simulation, aeb: AebHandler, seeing: PerceptionHandler | None, record: Any, now: int) -> None:
    msg = odometry(sim, now)
    aeb.on_odometry(msg, now)
    if seeing:
        seeing.on_odometry(msg, now)
    record(topics.ODOMETRY.name, msg, now)


def _watchdog(
    aeb: AebHandler, sim: Simulation, now: int, budget_ns: int, telltale_s: float | None, cameras: CameraStack | None
) -> float | None:
    """The node's watchdog timer: its degraded command (if any) acts; returns when the availability
    telltale first left "available" (``telltale_s`` once it has). Perception's camera health reaches
    the AEB at the same pace (the node sends it within 0.1 s of a change)."""
    if cameras is not None:
        aeb.on_camera_health(cameras.health(now), now)
    command = aeb.watchdog(now)
    if command is not None:
        sim.on_brake_command(command.accel.linear.x, now, now + budget_ns, 0.0)
    if telltale_s is None and aeb.core.telltale(now).availability is not Availability.AVAILABLE:
        return sim.t(now)
    return telltale_s


def _aeb(scenario: Scenario, stack: StackConfig, log: list[str], record: Any) -> AebHandler:
    """The AEB, given the ego lane's centre line as a map would (recorded: replay gives it the same)."""
    aeb = AebHandler(stack.aeb, log.append)
    lane = path_msg(lane_centre(scenario), 0)
    aeb.on_lane(lane, 0)
    record(topics.REFERENCE_PATH.name, lane, 0)
    return aeb


def _planning(scenario: Scenario, stack: StackConfig, log: list[str]) -> tuple[PlannerHandler, PlanningCheck]:
    """The planner (open loop: it plans, the simulated ego keeps its lane) and its checker."""
    handler = PlannerHandler(stack.planner, log.append)
    reference = road_reference(scenario.road)
    handler.set_reference(reference)
    cfg = stack.planner.planner
    vehicle = (cfg.vehicle_rear_m, cfg.vehicle_front_m, cfg.vehicle_width_m)
    return handler, PlanningCheck(scenario.expected, reference, cfg.lane_half_width_m, vehicle)


def _plan_and_check(planning: tuple[PlannerHandler, PlanningCheck], sim: Simulation, frame: Any, now: int) -> None:
    handler, check = planning
    state = sim.state()
    ego = EgoPose(state.x, state.y, state.yaw, state.speed_mps, state.yaw_rate, now)
    started = time.perf_counter()
    plan = handler.plan(ego, frame.obstacle_points[:, :2].astype(float), frame.objects)
    check.check(plan, sim.boxes(now), ego, (time.perf_counter() - started) * 1e3)


def _planning_outcome(result: dict[str, Any], check: PlanningCheck, scenario: Scenario) -> None:
    outcome, why = check.outcome()
    if result["outcome"] != "contact":
        result["outcome"] = outcome
    result["passed"] = result["outcome"] == scenario.expected
    result["planner_plans"] = check.plans
    result["planner_max_offset_m"] = round(check.max_offset_m, 2)
    result["planner_p99_ms"] = round(float(np.percentile(check.planning_ms, 99)), 2) if check.planning_ms else None
    if why:
        result["planner_why"] = why


def _capture(
    sim: Simulation, stack: StackConfig, record: Any, camera_stack: CameraStack | None, now: int
) -> tuple[np.ndarray, Any]:
    """A scan (xyz, lidar frame, and as a message), recorded with ground truth and camera images
    (handed to detection in the full stack; by day what they show counts for the oracle)."""
    points = sim.capture(now)
    cloud = cloud_msg(array_to_cloud(points), now, stack.lidar_frame)
    record(topics.LIDAR_POINTS.name, cloud, now)
    record(topics.GROUND_TRUTH.name, cloud_msg(encode_objects(sim.ground_truth(now)), now, "odom"), now)
    _cameras(sim, record, camera_stack, now)
    return np.column_stack([points["x"], points["y"], points["z"]]), cloud


def _cameras(sim: Simulation, record: Any, camera_stack: CameraStack | None, now: int) -> None:
    """The cameras' images of this moment, recorded and (full stack) handed to detection; by day
    what they show counts for the oracle."""
    if not sim.cameras:
        return
    rendered = sim.render(now, see=camera_stack is not None)
    messages = {}
    for renderer in sim.cameras:
        camera = renderer.camera
        messages[camera.name] = image_msg(array_to_image(rendered[camera.name], "bgr8"), now, camera.optical_frame)
        record(topics.CAMERA_IMAGE.format(camera=camera.name), messages[camera.name], now)
        record(topics.CAMERA_INFO.format(camera=camera.name), camera_info_msg(camera, now), now)
    if camera_stack is not None:
        camera_stack.on_images(messages, now)


def _cameras_alone(
    sim: Simulation, record: Any, camera_stack: CameraStack, seeing: PerceptionHandler, now: int
) -> list[tuple[int, int, Any]]:
    """No scan (a dead LiDAR): the cameras' object lists (camera-only objects), due after the fused delay."""
    _cameras(sim, record, camera_stack, now)
    lists = camera_stack.camera_only(seeing.ego_motion(now), now)
    due = now + int(sim.config.fused_objects_delay_ms * 1e6)
    for objects in lists:
        record(topics.OBJECTS.name, objects, due)
    return [(due, stamp_to_ns(objects.header.stamp), objects) for objects in lists]


def take_snapshot(sim: Simulation, now_ns: int, scan_lidar: np.ndarray, aeb: AebCore | None = None) -> Snapshot:
    state = sim.state()
    mount = sim.config.lidar.extrinsic.matrix()
    c, s = np.cos(state.yaw), np.sin(state.yaw)
    to_odom = np.array([[c, s], [-s, c]])
    base = scan_lidar[::7] @ mount[:3, :3].T + mount[:3, 3]
    odom = base[:, :2] @ to_odom + (state.x, state.y)
    actors = [box.footprint() for box in sim.boxes(now_ns)]
    corridor = None
    if aeb is not None:
        cfg = aeb.config
        half = corridor_half_width(cfg.vehicle, cfg.corridor)
        outline = corridor_outline(
            as_path(aeb.path(now_ns)), cfg.vehicle.front_overhang_m, cfg.corridor.max_range_m, half
        )
        corridor = outline @ to_odom + (state.x, state.y)
    return Snapshot(sim.t(now_ns), sim.ego_footprint(), actors, odom[base[:, 2] > 0.3], corridor)
