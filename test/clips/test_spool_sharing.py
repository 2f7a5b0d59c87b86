"""Two processes share a spool (the recorder adds and evicts, `av-edge upload` uploads): an entry
being uploaded is never evicted, whichever process evicts. flock() conflicts between separate open
files even within one process, so two Spool objects here stand for the two processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from test.clips.helpers import add_clip, spool_at


def test_an_entry_claimed_by_another_uploader_is_not_evicted_and_is_after_release(tmp_path: Path) -> None:
    uploader_side = spool_at(tmp_path / "spool", quota_mib=4)  # clips of ~1.05 and ~2.1 MiB
    recorder_side = spool_at(tmp_path / "spool", quota_mib=4)
    add_clip(recorder_side, "a_warning", 1.0, priority=50, protected=False)
    add_clip(recorder_side, "b_warning", 1.0, priority=50, protected=False, seed=1)
    with uploader_side.claim("a_warning") as present:
        assert present
        add_clip(recorder_side, "c_manual", 1.5, priority=90, protected=False, seed=2)  # needs room: b goes
        assert recorder_side.evicted == ["b_warning"] and uploader_side.path("a_warning").is_dir()
    add_clip(recorder_side, "d_manual", 1.0, priority=90, protected=False, seed=3)  # now a may go
    assert recorder_side.evicted == ["b_warning", "a_warning"]
    with uploader_side.claim("a_warning") as present:
        assert not present  # an uploader that waited for it finds it gone and moves on
    assert not list((tmp_path / "spool").glob(".lock-a_warning"))


def test_a_claim_dies_with_its_process(tmp_path: Path) -> None:
    """kill -9 of the uploader mid-upload: the kernel drops its flock, the entry is evictable again."""
    spool = spool_at(tmp_path / "spool", quota_mib=3)
    add_clip(spool, "a_warning", 1.0, priority=50, protected=False)
    code = (
        "import sys, time; from test.clips.helpers import spool_at; from pathlib import Path\n"
        f"s = spool_at(Path({str(tmp_path / 'spool')!r}))\n"
        "with s.claim('a_warning'):\n    print('claimed', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
        add_clip(spool, "b_manual", 1.5, priority=90, protected=False, seed=1)
        assert spool.refused == ["b_manual"] and spool.path("a_warning").is_dir()  # held by the other process
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    add_clip(spool, "c_manual", 1.5, priority=90, protected=False, seed=2)
    assert spool.evicted == ["a_warning"]
