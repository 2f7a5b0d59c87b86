"""The one registry of av_edge topics and their QoS (pure data; ``av_edge.ros.qos`` makes rclpy profiles).

Inputs from sensor drivers are subscribed best-effort (accepts best-effort and reliable publishers);
commands are published reliable (accepted by reliable and best-effort subscribers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QosSpec:
    reliable: bool
    depth: int
    transient_local: bool = False

    def describe(self) -> str:
        durability = ", transient local" if self.transient_local else ""
        return f"{'reliable' if self.reliable else 'best effort'}, keep last {self.depth}{durability}"


# Depth 5, as rclcpp's SensorDataQoS: a burst of other (malformed) messages on a sensor topic does
# not push a good scan out of the reader's history before the node takes it.
SENSOR_QOS = QosSpec(reliable=False, depth=5)
COMMAND_QOS = QosSpec(reliable=True, depth=1)
DIAGNOSTICS_QOS = QosSpec(reliable=True, depth=10)
PERCEPTION_QOS = QosSpec(reliable=True, depth=1)
LATCHED_QOS = QosSpec(reliable=True, depth=1, transient_local=True)  # a late subscriber gets the last one


@dataclass(frozen=True)
class TopicSpec:
    name: str
    msg_type: str
    qos: QosSpec
    frame: str
    rate: str
    role: str
    description: str

    def format(self, **fields: str) -> str:
        """The concrete name of a per-sensor topic, e.g. ``CAMERA_IMAGE.format(camera="front")``."""
        return self.name.format(**fields)


LIDAR_POINTS = TopicSpec(
    "/sensing/lidar/points",
    "sensor_msgs/msg/PointCloud2",
    SENSOR_QOS,
    "lidar",
    "10 Hz",
    "input",
    "LiDAR scan, stamped at capture; needs fields x, y, z (float32/64); NaN/inf points are dropped",
)
CAMERA_IMAGE = TopicSpec(
    "/sensing/camera/{camera}/image_raw",
    "sensor_msgs/msg/Image",
    SENSOR_QOS,
    "{camera}_optical",
    "10 Hz",
    "input",
    "camera image (rgb8, bgr8, rgba8, bgra8, mono8, mono16), stamped at capture; one per rig camera",
)
CAMERA_INFO = TopicSpec(
    "/sensing/camera/{camera}/camera_info",
    "sensor_msgs/msg/CameraInfo",
    SENSOR_QOS,
    "{camera}_optical",
    "with each image",
    "input",
    "intrinsics and lens distortion (plumb_bob, rational_polynomial; D all zeros: none) of that camera at its current"
    " resolution, taken whenever it changes (config/vehicle.yaml holds the extrinsics)",
)
ODOMETRY = TopicSpec(
    "/localization/odometry",
    "nav_msgs/msg/Odometry",
    SENSOR_QOS,
    "odom -> base_link",
    "50 Hz",
    "input",
    "ego pose and velocity; twist.twist.linear.x is the longitudinal speed",
)
BRAKE_COMMAND = TopicSpec(
    "/av_edge/aeb/brake_cmd",
    "geometry_msgs/msg/AccelStamped",
    COMMAND_QOS,
    "base_link",
    "one per LiDAR scan, one more per escalation on an object list",
    "output",
    "requested longitudinal acceleration (m/s^2; 0 = no braking, negative = brake); header.stamp = the "
    "triggering scan's stamp; doubles as a heartbeat",
)
AEB_MARKERS = TopicSpec(
    "/av_edge/aeb/markers",
    "visualization_msgs/msg/MarkerArray",
    PERCEPTION_QOS,
    "base_link",
    "with each scan, while subscribed",
    "output",
    "the AEB's corridor along its predicted path (green cruise, yellow warning, orange partial, red full braking), "
    "the obstacle it brakes for, and its state, gap and TTC; built after the brake command, only while subscribed",
)
OBSTACLE_POINTS = TopicSpec(
    "/av_edge/perception/obstacle_points",
    "sensor_msgs/msg/PointCloud2",
    PERCEPTION_QOS,
    "base_link",
    "one per LiDAR scan",
    "output",
    "non-ground points below the height limit with a cluster_id (int32, -1 = unclustered) field; stamp = scan's",
)
OBJECTS = TopicSpec(
    "/av_edge/perception/objects",
    "sensor_msgs/msg/PointCloud2",
    PERCEPTION_QOS,
    "base_link",
    "one per LiDAR scan",
    "output",
    "object list, one point per object: x, y, z, length, width, height, yaw, vx, vy (ground velocity), "
    "class_id, score, track_id, ax, ay, class_score (`av_edge.core.objects.decode_objects`); "
    "stamp = scan's",
)
MARKERS = TopicSpec(
    "/av_edge/perception/markers",
    "visualization_msgs/msg/MarkerArray",
    PERCEPTION_QOS,
    "base_link",
    "one per LiDAR scan",
    "output",
    "boxes and track ids for RViz; built only while someone subscribes",
)
DETECTION_IMAGE = TopicSpec(
    "/av_edge/perception/{camera}/detections_image",
    "sensor_msgs/msg/Image",
    SENSOR_QOS,
    "{camera}_optical",
    "with each detection batch",
    "output (debug)",
    "the camera image with detected boxes, classes and scores; built only while someone subscribes",
)
PLANNED_PATH = TopicSpec(
    "/av_edge/planning/path",
    "nav_msgs/msg/Path",
    PERCEPTION_QOS,
    "odom",
    "one per object list",
    "output",
    "the local path (5 s ahead, 0.1 s apart): base_link poses; header.stamp = the scan it planned on",
)
SPEED_PROFILE = TopicSpec(
    "/av_edge/planning/speed_profile",
    "std_msgs/msg/Float32MultiArray",
    PERCEPTION_QOS,
    "odom",
    "with each path",
    "output",
    "one row per path pose: t_s, x_m, y_m, speed_mps, accel_mps2 (the layout's labels say so)",
)
REFERENCE_PATH = TopicSpec(
    "/av_edge/planning/reference_path",
    "nav_msgs/msg/Path",
    COMMAND_QOS,
    "odom",
    "when the lane changes",
    "input (optional)",
    "the ego lane's centre line: the planner plans along it (else straight ahead); the AEB predicts"
    " the path along it while the ego follows the lane (else the yaw-rate arc)",
)
PLANNER_MARKERS = TopicSpec(
    "/av_edge/planning/markers",
    "visualization_msgs/msg/MarkerArray",
    PERCEPTION_QOS,
    "odom",
    "with each path",
    "output",
    "candidate paths (grey: blocked, green: feasible) and the chosen one; built only while someone subscribes",
)
EVENTS = TopicSpec(
    "/av_edge/events",
    "diagnostic_msgs/msg/DiagnosticArray",
    DIAGNOSTICS_QOS,
    "-",
    "on change",
    "output",
    "the shared event channel: one status per event (name = node/kind, e.g. aeb/forward_collision_warning, "
    "aeb/emergency_braking, aeb/watchdog; level, message, key/values); for the clip recorder and operators",
)
GROUND_TRUTH = TopicSpec(
    "/av_edge/sim/ground_truth",
    "sensor_msgs/msg/PointCloud2",
    PERCEPTION_QOS,
    "odom",
    "one per LiDAR scan",
    "simulator output",
    "actor boxes and velocities (object-list layout, track_id = actor id) for evaluation only; "
    "av_edge nodes never read it",
)
AEB_AVAILABILITY = TopicSpec(
    "/av_edge/aeb/availability",
    "diagnostic_msgs/msg/DiagnosticStatus",
    LATCHED_QOS,
    "-",
    "on change and 1 Hz",
    "output",
    "the AEB telltale (FMVSS No. 127 S5.4): level 0 available, 1 degraded (brakes on what is left), 2 "
    "unavailable; message and one value per faulty input (lidar, odometry, clock) say why",
)
CAMERA_HEALTH = TopicSpec(
    "/av_edge/perception/camera_health",
    "diagnostic_msgs/msg/DiagnosticArray",
    LATCHED_QOS,
    "-",
    "on change and 1 Hz",
    "output",
    "one status per camera perception checks: OK, or WARN with its faults (blank, too dark, blinded, "
    "frozen, stale, no image); the AEB's availability telltale takes them in (its camera fallback)",
)
DETECTIONS_3D = TopicSpec(
    "/av_edge/perception/detections_3d",
    "vision_msgs/msg/Detection3DArray",
    PERCEPTION_QOS,
    "base_link",
    "with each object list",
    "output (adapter_node)",
    "the object list as vision_msgs: class name and probability, box; id = the track's UUID (hex)",
)
AUTOWARE_DETECTED = TopicSpec(
    "/av_edge/perception/autoware/detected_objects",
    "autoware_perception_msgs/msg/DetectedObjects",
    PERCEPTION_QOS,
    "base_link",
    "with each object list",
    "output (adapter_node)",
    "the object list for Autoware: its class labels, twist in the object's frame, covariances unknown",
)
AUTOWARE_TRACKED = TopicSpec(
    "/av_edge/perception/autoware/tracked_objects",
    "autoware_perception_msgs/msg/TrackedObjects",
    PERCEPTION_QOS,
    "base_link",
    "with each object list",
    "output (adapter_node)",
    "tracked objects with a UUID stable while the track lives, twist and acceleration",
)
AUTOWARE_PREDICTED = TopicSpec(
    "/av_edge/perception/autoware/predicted_objects",
    "autoware_perception_msgs/msg/PredictedObjects",
    PERCEPTION_QOS,
    "base_link",
    "with each object list",
    "output (adapter_node)",
    "tracked objects with one constant-acceleration predicted path (stopping, never reversing)",
)
AEB_LONGITUDINAL = TopicSpec(
    "/av_edge/aeb/longitudinal",
    "autoware_control_msgs/msg/Longitudinal",
    COMMAND_QOS,
    "-",
    "with each brake request",
    "output (adapter_node)",
    "the AEB's brake request as a longitudinal command (target 0 m/s, the requested deceleration); none "
    "while it requests nothing",
)
AUTOWARE_TRAJECTORY = TopicSpec(
    "/av_edge/planning/autoware/trajectory",
    "autoware_planning_msgs/msg/Trajectory",
    PERCEPTION_QOS,
    "odom",
    "with each path",
    "output (adapter_node)",
    "the planner's path and speed profile as one trajectory: time from start, pose (heading along the path), "
    "speed, acceleration, heading rate",
)
DIAGNOSTICS = TopicSpec(
    "/diagnostics",
    "diagnostic_msgs/msg/DiagnosticArray",
    DIAGNOSTICS_QOS,
    "-",
    "1 Hz",
    "output",
    "health, state, input rate and staleness, rejected inputs, sensor->decision latency p50/p99",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    LIDAR_POINTS,
    CAMERA_IMAGE,
    CAMERA_INFO,
    ODOMETRY,
    BRAKE_COMMAND,
    AEB_AVAILABILITY,
    CAMERA_HEALTH,
    AEB_MARKERS,
    OBSTACLE_POINTS,
    OBJECTS,
    MARKERS,
    DETECTION_IMAGE,
    REFERENCE_PATH,
    PLANNED_PATH,
    SPEED_PROFILE,
    PLANNER_MARKERS,
    EVENTS,
    DIAGNOSTICS,
    DETECTIONS_3D,
    AUTOWARE_DETECTED,
    AUTOWARE_TRACKED,
    AUTOWARE_PREDICTED,
    AEB_LONGITUDINAL,
    AUTOWARE_TRAJECTORY,
)


def markdown_table(topics: tuple[TopicSpec, ...] = ALL_TOPICS) -> str:
    """The README's topic table, generated from this registry."""
    rows = ["| topic | type | role | QoS | frame | rate | meaning |", "|---|---|---|---|---|---|---|"]
    rows += [
        f"| `{t.name}` | `{t.msg_type}` | {t.role} | {t.qos.describe()} | {t.frame} | {t.rate} | {t.description} |"
        for t in topics
    ]
    return "\n".join(rows)
