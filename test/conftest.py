"""Test-wide DDS isolation: every test that touches DDS gets its own ROS_DOMAIN_ID, discovery on localhost.

The pytest process itself stays a *default* Fast DDS participant (no profile file), so tests that
talk to av_edge nodes also prove interoperability with default-configured peers.
"""

from __future__ import annotations

import itertools
import os
import random

import pytest

from av_edge.processes import SAFE_DOMAIN_IDS

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
os.environ.pop("FASTDDS_BUILTIN_TRANSPORTS", None)

_domain_ids = itertools.count(random.Random().randrange(len(SAFE_DOMAIN_IDS)))


@pytest.fixture
def dds_domain() -> int:
    """A safe ROS_DOMAIN_ID no other test of this run uses (consecutive from a random start)."""
    return SAFE_DOMAIN_IDS[next(_domain_ids) % len(SAFE_DOMAIN_IDS)]
