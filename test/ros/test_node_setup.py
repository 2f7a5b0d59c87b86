import subprocess
import sys

import pytest

BLOCK_MB = 48  # beyond the largest threshold glibc raises its mmap cut-off to on its own (32 MB)

FAULTS_PER_ALLOCATION = f"""
import resource, sys
if sys.argv[1] == "kept":
    from av_edge.ros.node_setup import keep_heap_resident
    assert keep_heap_resident()
def faults(rounds):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        block = b"x" * ({BLOCK_MB} << 20)  # written through: every page is touched
        del block
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds
faults(1)  # the first block maps its pages either way
print(faults(5))
"""


def faults_per_allocation(mode: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_ALLOCATION, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return float(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc tuning")
def test_a_kept_heap_reuses_big_blocks_without_page_faults():
    pages = (BLOCK_MB << 20) / 4096
    assert faults_per_allocation("default") > pages / 2  # mapped fresh and unmapped each time
    assert faults_per_allocation("kept") < pages / 100
