"""``av-edge``: the command line (demo, run a node, topic table, benchmarks)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from av_edge import processes, topics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="av-edge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="closed-loop stalled-car scenario over DDS")
    demo.add_argument("--speed-kmh", type=float, default=50.0)
    demo.add_argument("--gap-m", type=float, default=60.0, help="initial gap to the stalled car")
    demo.add_argument("--report", type=Path, default=Path("report/results.json"))
    demo.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID (default: env or random)")

    run = commands.add_parser("run", help="run a node with its params file and the shipped DDS profile")
    run.add_argument("node", choices=processes.NODES)
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE")
    run.add_argument("--params-file", type=Path, default=None)

    commands.add_parser("topics", help="print the topic table (markdown)")

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

    bench = commands.add_parser("bench", help="run benchmarks, merge into bench/results.json")
    bench.add_argument("--output", type=Path, default=Path("bench/results.json"))

    args = parser.parse_args(argv)
    if args.command == "demo":
        from av_edge.demo import main as demo_main

        return demo_main(args.speed_kmh, args.gap_m, args.report, args.domain_id)
    if args.command == "run":
        command = processes.node_command(args.node, args.param, args.params_file)
        os.execve(command[0], command, processes.dds_environment())
    if args.command == "topics":
        print(topics.markdown_table())
        return 0
    if args.command == "perceive":
        if args.sensor_height is None and args.extrinsic is None:
            parser.error("perceive needs --sensor-height METRES (or --extrinsic X Y Z ROLL PITCH YAW)")
        from av_edge.perceive import main as perceive_main

        return perceive_main(args.file, args.sensor_height or 0.0, args.extrinsic, args.json)
    if args.command == "bench":
        from av_edge.bench import main as bench_main

        return bench_main(args.output)
    return 2


if __name__ == "__main__":
    sys.exit(main())
