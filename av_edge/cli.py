"""``av-edge``: the command line (suite, demo, replay, regress, perceive, run a node, topics, bench)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from av_edge import processes, topics
from av_edge.core.errors import AvEdgeError
from av_edge.sim.scenario import CATEGORIES

Command = Callable[[argparse.Namespace], int]


def _suite(args: argparse.Namespace) -> int:
    from av_edge.suite import runner

    jobs = args.jobs or runner.default_jobs()
    if args.random is not None:
        from av_edge.suite import random_runs

        runs, seed, plots, full = args.random, args.seed, not args.no_plots, args.stack == "full"
        return random_runs.main(runs, seed, args.family, args.index, jobs, args.output, plots, full)
    return runner.main(
        args.filter,
        args.category,
        args.output,
        args.known_failures,
        jobs,
        not args.no_plots,
        args.record,
        args.stack == "full",
    )


def _demo(args: argparse.Namespace) -> int:
    from av_edge.demo import main as demo_main

    return demo_main(args.scenario, args.report, args.domain_id)


def _replay(args: argparse.Namespace) -> int:
    from av_edge.suite import replay

    return replay.main(
        args.bag, args.rate, args.loop, args.start, args.topics, args.remap, args.restamp, not args.no_clock
    )


def _regress(args: argparse.Namespace) -> int:
    from av_edge.suite import regression

    if args.write_reference:
        for path in regression.write_reference():
            print(f"regress: wrote {path}")
        return 0
    if args.bag is None:
        raise AvEdgeError("regress: name a bag (or --write-reference)")
    return regression.main(args.bag, args.process)


def _perceive(args: argparse.Namespace) -> int:
    from av_edge.perceive import main as perceive_main

    return perceive_main(args.file, args.sensor_height or 0.0, args.extrinsic, args.json)


def _run(args: argparse.Namespace) -> int:
    node = args.node if args.node in processes.NODES else f"{args.node}_node"
    try:
        command = processes.node_command(node, args.param, args.params_file, args.ros_args)
    except ValueError as err:
        print(f"av-edge run: {err}", file=sys.stderr)
        return 2
    os.execve(command[0], command, processes.dds_environment())
    return 0  # not reached


def _topics(args: argparse.Namespace) -> int:
    print(topics.markdown_table())
    return 0


def _viewer_configs(args: argparse.Namespace) -> int:
    from av_edge.viewer_configs import main as viewer_configs_main

    return viewer_configs_main(args.directory)


def _params_doc(args: argparse.Namespace) -> int:
    from av_edge.param_reference import main as params_doc_main

    return params_doc_main(args.output)


def _fleet(args: argparse.Namespace) -> int:
    from av_edge.fleet.commands import fleet_main

    return fleet_main(args)


def _model_update(args: argparse.Namespace) -> int:
    from av_edge.fleet.commands import update_main

    return update_main(args)


def _upload(args: argparse.Namespace) -> int:
    from av_edge.clips.drain import main as upload_main

    return upload_main(args.params_file, args.spool, args.endpoint, args.bucket, args.until_empty)


def _seal_model(args: argparse.Namespace) -> int:
    import yaml

    from av_edge.core.detection.manifest import (
        MANIFEST_FILE,
        MODEL_FILE,
        ModelPackageError,
        parse_manifest,
        write_package,
    )

    path: Path = args.directory
    if args.verify:
        from av_edge.detection.verify import verify_package

        problems = verify_package(path)  # ModelPackageError (sha256, manifest) is a one-line error
        for problem in problems:
            print(f"[av_edge] {path}: {problem}", file=sys.stderr)
        if not problems:
            print(f"{path}: sha256 and ONNX inputs/outputs match the manifest")
        return 1 if problems else 0
    try:
        manifest = parse_manifest(yaml.safe_load((path / MANIFEST_FILE).read_text()), str(path / MANIFEST_FILE))
        package = write_package(path, manifest, (path / MODEL_FILE).read_bytes())
    except (OSError, ModelPackageError) as err:
        print(f"[av_edge] {err}", file=sys.stderr)
        return 2
    m = package.manifest
    print(f"{path}: {m.name} {m.version}, {m.num_classes} classes, {m.output_format} output, sha256 {m.sha256}")
    return 0


def _soak(args: argparse.Namespace) -> int:
    from av_edge.bench.soak import main as soak_main

    return soak_main(args.minutes, args.output)


def _bench(args: argparse.Namespace) -> int:
    from av_edge.bench import main as bench_main

    if args.backend is not None:
        from av_edge.bench.detection import compare_main

        if args.names not in ([], ["detection"]):
            raise SystemExit("--backend/--compare apply to the detection benchmark only")
        return compare_main(args.backend, args.compare)
    return bench_main(args.output, tuple(args.only + args.names))


def _suite_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    suite = commands.add_parser("suite", help="run the scenario catalog (deterministic lock-step) and report")
    suite.add_argument(
        "--deterministic",
        action="store_true",
        help="lock-step mode (the suite's mode; real time over DDS is `av-edge demo`)",
    )
    suite.add_argument("--filter", action="append", default=[], metavar="TEXT", help="names containing TEXT")
    suite.add_argument("--category", action="append", default=[], choices=CATEGORIES)
    suite.add_argument(
        "--random",
        type=int,
        default=None,
        metavar="N",
        help="N runs drawn from the scenario families (config/scenarios/families) instead of the catalog",
    )
    suite.add_argument("--seed", type=int, default=0, help="with --random: the draw's seed")
    suite.add_argument("--family", action="append", default=[], metavar="NAME", help="with --random: only these")
    suite.add_argument("--index", type=int, default=None, help="with --random: only run INDEX (reproduce one)")
    suite.add_argument("--output", type=Path, default=Path("report"))
    suite.add_argument(
        "--known-failures",
        type=Path,
        default=None,
        metavar="YAML",
        help="ratchet: fail only on failures not listed there, or on listed ones passing",
    )
    suite.add_argument(
        "--stack",
        choices=("lidar", "full"),
        default="full",
        help="full (default): the stack as deployed: LiDAR perception, the cameras rendered, detected "
        "(ONNX Runtime) and fused, the AEB on the fused list; lidar: LiDAR perception and the AEB "
        "only (2-3x faster; CI's 300-run sample)",
    )
    suite.add_argument("--jobs", type=int, default=None)
    suite.add_argument("--no-plots", action="store_true")
    suite.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="also record every run to DIR/<scenario> (rosbag2 MCAP, ~16 MB per second)",
    )


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run a node with its params file and the shipped DDS profile")
    short = [n.removesuffix("_node") for n in processes.NODES]
    run.add_argument("node", choices=[*processes.NODES, *short])
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE")
    run.add_argument("--params-file", type=Path, default=None)
    run.add_argument(
        "ros_args",
        nargs=argparse.REMAINDER,
        metavar="--ros-args ...",
        help="passed to the node after its params file (remaps -r from:=to, -p, --log-level, ...)",
    )


def _add_regress(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    regress = commands.add_parser("regress", help="re-run each node's handlers over a bag; diff against it")
    regress.add_argument("bag", type=Path, nargs="?")
    regress.add_argument(
        "--process", action="append", default=[], choices=["aeb", "perception"], help="only these (default: all)"
    )
    regress.add_argument(
        "--write-reference", action="store_true", help="re-record the reference bags in test/data/replay"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="av-edge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    _suite_parser(commands)

    demo = commands.add_parser("demo", help="one catalog scenario in real time, nodes in their own processes")
    demo.add_argument("--scenario", default="lead_stopped_50kmh_100pct", help="a name from config/scenarios")
    demo.add_argument("--report", type=Path, default=Path("report/results.json"))
    demo.add_argument(
        "--domain-id", type=_domain_id, default=None, help="ROS_DOMAIN_ID, 1-101 or 215-232 (default: env or random)"
    )

    replay = commands.add_parser("replay", help="publish a rosbag2 (MCAP or sqlite3) with its original timing")
    replay.add_argument("bag", type=Path)
    replay.add_argument("--rate", type=float, default=1.0)
    replay.add_argument("--loop", action="store_true")
    replay.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="skip this much of the bag")
    replay.add_argument("--topics", nargs="+", default=[], metavar="TOPIC", help="only these topics")
    replay.add_argument("--remap", action="append", default=[], metavar="FROM:=TO")
    replay.add_argument("--restamp", action="store_true", help="header stamps = now, as a live sensor would")
    replay.add_argument("--no-clock", action="store_true", help="do not publish /clock")

    _add_regress(commands)

    perceive = commands.add_parser("perceive", help="LiDAR pipeline on a .bin (KITTI), .npy, .pcd or .ply file")
    perceive.add_argument("file", type=Path)
    perceive.add_argument("--sensor-height", type=float, metavar="METRES", help="LiDAR height above the road")
    perceive.add_argument(
        "--extrinsic",
        type=float,
        nargs=6,
        metavar=("X", "Y", "Z", "ROLL", "PITCH", "YAW"),
        help="full mounting pose (base_link on the road below the vehicle) instead",
    )
    perceive.add_argument("--json", type=Path, default=None, metavar="PATH")

    _add_run(commands)

    upload = commands.add_parser("upload", help="upload the clip spool to S3 (the clip recorder's uploader alone)")
    upload.add_argument("--params-file", type=Path, default=None, help="default: config/clip_recorder.params.yaml")
    upload.add_argument("--spool", type=Path, default=None, help="override spool.directory")
    upload.add_argument("--endpoint", default=None, metavar="URL", help="override uploader.endpoint_url")
    upload.add_argument("--bucket", default=None, help="override uploader.bucket")
    upload.add_argument("--until-empty", action="store_true", help="exit once the spool is empty")

    from av_edge.fleet.commands import add_parsers as add_fleet_parsers

    add_fleet_parsers(commands)

    seal = commands.add_parser("seal-model", help="check a model package's manifest and record its ONNX sha256")
    seal.add_argument("directory", type=Path, help="holds model.onnx and manifest.yaml")
    seal.add_argument(
        "--verify", action="store_true", help="only check the sha256 and the ONNX inputs/outputs against the manifest"
    )

    commands.add_parser("topics", help="print the topic table (markdown)")
    viewers = commands.add_parser(
        "viewer-configs", help="write the RViz config and the Foxglove layout from the topics"
    )
    viewers.add_argument("--directory", type=Path, default=None, help="default: the package's config/")

    params_doc = commands.add_parser("params-doc", help="write the parameter reference from the config schemas")
    params_doc.add_argument("--output", type=Path, default=Path("docs/parameters.md"))

    bench = commands.add_parser(
        "bench", help="run benchmarks: all into a fresh results file, or NAMEs merged into it; each stamped"
    )
    bench.add_argument("--output", type=Path, default=Path("bench/results.json"))
    bench.add_argument("names", nargs="*", metavar="NAME", help="only these benchmarks (as --only)")
    bench.add_argument("--only", action="append", default=[], metavar="NAME", help="only this benchmark")
    bench.add_argument(
        "--backend",
        choices=("onnxruntime", "onnxruntime-cuda", "tensorrt"),
        default=None,
        help="detection: check this backend's detections and latency against --compare's",
    )
    bench.add_argument("--compare", default="onnxruntime", choices=("onnxruntime", "onnxruntime-cuda", "tensorrt"))
    soak = commands.add_parser("soak", help="every node under full load with faults injected -> bench/soak.json")
    soak.add_argument("--minutes", type=float, default=None, help="default: $SOAK_MINUTES or 30")
    soak.add_argument("--output", type=Path, default=Path("bench/soak.json"))
    return parser


COMMANDS: dict[str, Command] = {
    "suite": _suite,
    "demo": _demo,
    "replay": _replay,
    "regress": _regress,
    "perceive": _perceive,
    "run": _run,
    "topics": _topics,
    "params-doc": _params_doc,
    "viewer-configs": _viewer_configs,
    "upload": _upload,
    "fleet": _fleet,
    "model-update": _model_update,
    "seal-model": _seal_model,
    "bench": _bench,
    "soak": _soak,
}


def _domain_id(text: str) -> int:
    try:
        return processes.check_domain_id(int(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "perceive" and args.sensor_height is None and args.extrinsic is None:
        parser.error("perceive needs --sensor-height METRES (or --extrinsic X Y Z ROLL PITCH YAW)")
    try:
        return COMMANDS[args.command](args)
    except AvEdgeError as err:  # bad input the user can fix: one line, no traceback
        print(f"[av_edge] {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
