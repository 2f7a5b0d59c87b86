"""A real S3 HTTP API on loopback (``moto_server``) for tests, benchmarks and trying the uploader
without a cloud account. Not for vehicles: it keeps everything in memory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Niceness for a server standing in for the cloud in a benchmark: its CPU work is a data centre's,
#: not the vehicle's, so on a shared machine it yields to everything the vehicle runs (the
#: recorder and uploader included, at niceness 10).
CLOUD_NICENESS = 19


class MotoServer:
    """``moto_server`` in its own process, standing in for a remote cloud: optionally niced and
    confined to ``cpus`` so that its work (a real cloud's, not the vehicle's) stays off other cores."""

    def __init__(self, log: Path, niceness: int = 0, cpus: tuple[int, ...] = ()) -> None:
        self.port = free_port()
        self.log = log
        self.niceness = niceness
        self.cpus = cpus
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        moto = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        niceness, cpus = self.niceness, self.cpus

        def lower_priority() -> None:
            os.nice(niceness)
            if cpus:
                os.sched_setaffinity(0, cpus)

        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [moto, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=lower_priority,  # noqa: PLW1509 - two syscalls, no locks taken
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
