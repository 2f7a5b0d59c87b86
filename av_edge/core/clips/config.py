"""Clip recorder node configuration (``config/clip_recorder.params.yaml`` is the single source)."""

from __future__ import annotations

from dataclasses import dataclass

from av_edge.core.clips.triggers import TriggerKind, TriggerRule
from av_edge.core.config import bounded, choice, described
from av_edge.core.errors import ConfigError


@dataclass(frozen=True)
class TriggerRuleConfig:
    priority: int = bounded(0, 100, "upload first and evict last: higher")
    min_interval_s: float = bounded(0.0, 3600.0, "a repeat of this kind sooner than this is suppressed")


@dataclass(frozen=True)
class TriggersConfig:
    braking: TriggerRuleConfig
    warning: TriggerRuleConfig
    disagreement: TriggerRuleConfig
    watchdog: TriggerRuleConfig
    manual: TriggerRuleConfig
    brake_threshold_mps2: float = bounded(0.5, 20.0, "brake request at or below minus this = braking onset")

    def rules(self) -> dict[TriggerKind, TriggerRule]:
        return {
            kind: TriggerRule(rule.priority, rule.min_interval_s)
            for kind in TriggerKind
            for rule in (getattr(self, kind.value),)
        }


@dataclass(frozen=True)
class SpoolConfig:
    directory: str = described("the persistent upload queue (~ expanded); use a dedicated partition")
    evict_braking_clips: bool = described(
        "true: an un-uploaded braking clip may be evicted for space (default false: never)"
    )
    quota_mib: int = bounded(
        1, 10_000_000, "MiB of disk the spool may use; lowest-priority oldest clips are evicted over it"
    )


@dataclass(frozen=True)
class BagConfig:
    ros_distro: str = choice(
        "humble", "jazzy", "kilted", doc="the distro that replays the clips: rosbag2 metadata version and fields"
    )
    storage: str = choice("mcap", "sqlite3", doc="rosbag2 storage plugin (mcap: profile ros2)")


@dataclass(frozen=True)
class UploaderConfig:
    enabled: bool = described("run the uploader thread in this process (false when av-edge upload runs it)")
    endpoint_url: str = described("'default': AWS S3 (boto3's); or http(s)://host:port for MinIO, Ceph RGW")
    region: str = described("S3 region")
    bucket: str = described("S3 bucket")
    prefix: str = described("object keys: <prefix>/<vehicle_id>/<entry>/<file>")
    delete_after_upload: bool = described("remove a clip once size, sha256 and ETag of every object are verified")
    part_size_mib: int = bounded(5, 5120, "S3: every part but the last >= 5 MiB")
    bandwidth_mbit_s: float = bounded(0.0, 100_000.0, "0 = uncapped")
    retry_base_s: float = bounded(0.01, 60.0, "s, first retry delay (exponential backoff with full jitter)")
    retry_cap_s: float = bounded(0.1, 3600.0, "s, longest retry delay while the link is down")
    connect_timeout_s: float = bounded(0.1, 60.0, "s, S3 connect timeout")
    read_timeout_s: float = bounded(0.1, 600.0, "s, S3 read timeout")
    summary_period_s: float = bounded(
        1.0, 86400.0, "s between JSON summaries (message counts, triggers, latency, confidence)"
    )


@dataclass(frozen=True)
class RecorderConfig:
    triggers: TriggersConfig
    bag: BagConfig
    spool: SpoolConfig
    uploader: UploaderConfig
    vehicle_id: str = described("names the vehicle in object keys and clip metadata")
    topics: tuple[str, ...] = described(
        "recorded serialized (types from the graph, like ros2 bag record); absolute names"
    )
    model_versions: tuple[str, ...] = described("written into every clip's metadata")
    cpus: str = described("cores the recorder and uploader may use: 'any', or as taskset writes them ('2,3', '2-3')")
    pre_trigger_s: float = bounded(0.0, 120.0, "s of history before a trigger in its clip")
    post_trigger_s: float = bounded(0.0, 120.0, "s after a trigger in its clip")
    max_clip_s: float = bounded(1.0, 600.0, "s; overlapping triggers extend one clip up to this")
    ring_max_mib: int = bounded(
        1, 1_000_000, "MiB the in-memory history may hold (the pre-window shortens, counted, beyond it)"
    )
    niceness: int = bounded(0, 19, "the recorder and uploader yield the CPU to the braking path")

    def cpu_set(self) -> tuple[int, ...]:
        """``cpus`` as core numbers (empty: no restriction)."""
        return parse_cpu_list(self.cpus)

    def __post_init__(self) -> None:
        if self.pre_trigger_s + self.post_trigger_s > self.max_clip_s:
            raise ConfigError(
                f"pre_trigger_s + post_trigger_s ({self.pre_trigger_s + self.post_trigger_s}) exceeds max_clip_s "
                f"({self.max_clip_s})"
            )
        if self.cpus.strip() != "any" and not self.cpu_set():
            raise ConfigError(f"cpus: '{self.cpus}' names no core; write 'any' for no restriction")
        bad = [t for t in self.topics if not t.startswith("/")]
        if bad:
            raise ConfigError(f"topics must be absolute names: {', '.join(bad)}")


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """Core numbers from a taskset-style list ("3", "0,2", "2-5", "0,4-7"); "any": none (no restriction)."""
    if text.strip() == "any":
        return ()
    cores: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            raise ConfigError(f"cpus: '{part}' is not a core number or range (e.g. '2', '2-3', '0,2')") from None
        if lo < 0 or hi < lo:
            raise ConfigError(f"cpus: '{part}' is not an ascending range of core numbers >= 0")
        cores.update(range(lo, hi + 1))
    return tuple(sorted(cores))
