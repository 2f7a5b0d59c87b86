"""A real S3 HTTP API (moto_server) on loopback, a fault-injecting proxy in front, and clips to upload."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest

if importlib.util.find_spec("moto") is None or importlib.util.find_spec("boto3") is None:
    pytest.skip("moto[server] and boto3 are not installed (make test installs them)", allow_module_level=True)

from av_edge.clips.local_s3 import CREDENTIALS, MotoServer
from test.clips.fault_proxy import FaultProxy

BUCKET = "av-edge-clips"
S3Server = MotoServer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    server = S3Server(tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    p = FaultProxy(s3_server.port)
    yield p
    p.close()


@pytest.fixture
def bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh bucket per test (named after it), emptied afterwards."""
    client = s3_client(s3_server.endpoint)
    name = f"{BUCKET}-{abs(hash(request.node.nodeid)) % 10**8}"
    client.create_bucket(Bucket=name)
    yield name
    for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=obj["Key"])


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
