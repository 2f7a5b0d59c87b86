"""``av-edge fleet ...`` (operator: publish, roll out, roll back) and ``av-edge model-update`` (vehicle)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from av_edge import __version__
from av_edge.paths import config_file

if TYPE_CHECKING:  # the parsers are built on every av-edge call; TUF, boto3 and onnxruntime load on use
    from av_edge.core.diagnostics import Status
    from av_edge.fleet.repository import FleetRepository


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fleet = commands.add_parser("fleet", help="the model repository: init, publish, rollout, rollback, refresh, show")
    fleet.add_argument("--repo", type=Path, default=Path("fleet-repo"), help="the repository workspace")
    fleet.add_argument("--keys", type=Path, default=Path("fleet-keys"), help="one <role>.pem per role")
    fleet.add_argument("--bucket", default=None, help="mirror the workspace to this S3 bucket after the change")
    fleet.add_argument("--prefix", default="fleet", help="object keys: <prefix>/metadata/..., <prefix>/targets/...")
    fleet.add_argument("--endpoint", default=None, metavar="URL", help="S3 endpoint (default: AWS)")
    fleet.add_argument("--region", default="eu-central-1")
    actions = fleet.add_subparsers(dest="action", required=True)
    init = actions.add_parser("init", help="a new repository (and new keys with --new-keys)")
    init.add_argument("--new-keys", action="store_true", help="generate a key per role into --keys")
    publish = actions.add_parser("publish", help="add a sealed model package as a signed target")
    publish.add_argument("package", type=Path)
    publish.add_argument("--version", required=True)
    publish.add_argument("--min-package-version", default=__version__, help="oldest av_edge that can run it")
    rollout = actions.add_parser("rollout", help="point a slice of the fleet (or all of it) at a version")
    rollout.add_argument("version")
    rollout.add_argument("--model", default=None, help="default: the only model name published")
    rollout.add_argument("--percent", type=float, required=True, help="100 finishes the rollout")
    rollout.add_argument("--vehicles", default="", help="comma-separated ids always in the slice")
    rollout.add_argument("--valid-days", type=float, default=30.0)
    actions.add_parser("rollback", help="everyone back on the running rollout's baseline")
    refresh = actions.add_parser("refresh", help="re-sign snapshot and timestamp (cron, well inside their expiry)")
    refresh.add_argument("--timestamp-hours", type=float, default=24.0)
    actions.add_parser("show", help="metadata versions and expiry, published models, the rollout")
    rotate = actions.add_parser("rotate", help="replace a role's key; vehicles follow through the root chain")
    rotate.add_argument("role", choices=("root", "targets", "fleet", "snapshot", "timestamp"))
    for action, text in (
        ("status", "which vehicle runs what (the newest summary of each), from the summaries"),
        ("report", "activations per 1000 km, latency and shadow agreement by model version, with plots"),
    ):
        view = actions.add_parser(action, help=text)
        view.add_argument("--summaries", type=Path, default=Path("fleet-summaries"), help="the local copy")
        view.add_argument("--clips-bucket", default=None, help="sync the summaries from this bucket first")
        view.add_argument("--clips-prefix", default="clips", help="the uploader's prefix")
        if action == "report":
            view.add_argument("--output", type=Path, default=Path("fleet-report"))

    update = commands.add_parser("model-update", help="the vehicle's model updater without ROS (ops, tests)")
    update.add_argument("--params-file", type=Path, default=None, help="default: config/model_updater.params.yaml")
    update.add_argument("--once", action="store_true", help="check once; exit 1 when it failed or refused")


def fleet_main(args: argparse.Namespace) -> int:
    from av_edge.clips.uploader import make_client
    from av_edge.fleet import repository
    from av_edge.fleet.keys import generate_keys

    if args.action in ("status", "report"):
        return _fleet_view(args, make_client(args.endpoint, args.region, 5.0, 60.0) if args.clips_bucket else None)
    repo = repository.FleetRepository(args.repo, args.keys)
    if args.action == "init":
        if args.new_keys:
            generate_keys(args.keys)
        repo.create()
        print(f"trust root for vehicles (model_updater trust_root): {args.repo / 'metadata' / '1.root.json'}")
    elif args.action == "publish":
        target = repo.publish(args.package, args.version, args.min_package_version)
        print(f"published {target.path} ({target.length} bytes)")
    elif args.action == "rollout":
        vehicles = tuple(v for v in args.vehicles.split(",") if v)
        model = args.model or _only_model(repo)
        print(repo.rollout(model, args.version, args.percent, vehicles, args.valid_days).to_json().decode())
    elif args.action == "rollback":
        print(repo.rollback().to_json().decode())
    elif args.action == "rotate":
        repo.rotate(args.role)
        print(f"{args.role}: new key in {args.keys / (args.role + '.pem')}, the old one kept as .pem.retired")
    elif args.action == "refresh":
        repo.refresh(timedelta(hours=args.timestamp_hours))
    elif args.action == "show":
        rollout = repo.current_rollout()
        published = sorted({(t.name, t.version) for t in repo.models_all()})
        document = {"metadata": repository.describe(args.repo), "models": published, "rollout": rollout}
        print(json.dumps(document, indent=1, default=lambda o: o.__dict__))
        return 0
    if args.bucket:
        client = make_client(args.endpoint, args.region, 5.0, 60.0)
        count = repository.upload(args.repo, client, args.bucket, args.prefix)
        print(f"uploaded {count} files to s3://{args.bucket}/{args.prefix}/")
    return 0


def _fleet_view(args: argparse.Namespace, client: object) -> int:
    from av_edge.fleet import report

    if client is not None:
        copied = report.sync(client, args.clips_bucket, args.clips_prefix, args.summaries)
        print(f"synced {copied} new summaries into {args.summaries}")
    results = report.query(args.summaries)
    if args.action == "status":
        for row in results["vehicles"]:
            print("  ".join(f"{k}={row[k]}" for k in row if k != "time_ns"))
        return 0
    print(f"wrote {report.write_report(results, args.output)}")
    return 0


def _only_model(repo: FleetRepository) -> str:
    from av_edge.fleet.repository import RepositoryError

    names = sorted({t.name for t in repo.models_all()})
    if len(names) != 1:
        raise RepositoryError(f"published models {names}: name one with --model")
    return names[0]


def update_main(args: argparse.Namespace) -> int:
    from av_edge.fleet.service import load, serve
    from av_edge.fleet.updater import ModelUpdater

    config = load(args.params_file or config_file("model_updater.params.yaml"))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    updater = ModelUpdater(config, __version__, stopping=stop.is_set)
    ok = serve(updater, stop, _print_events, once=args.once)
    fetched = updater.state.last_fetch
    if fetched is not None:
        _log(f"downloaded {fetched.fetched} bytes, resumed from {fetched.resumed_from}")
    _log(f"running {updater.state.current or '(shipped)'}")
    return 0 if ok else 1


def _print_events(events: list[Status]) -> None:
    for event in events:
        _log(f"{event.level.name}: {event.message}")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] av-edge model-update: {message}", file=sys.stderr, flush=True)
