"""Scratch directories of worker processes: those of processes that are gone are removed, a running
one's and anything else in TMPDIR are left alone."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reflector.domain.processing.scratch import remove_orphaned_scratch, scratch_dir

# A worker killed outright while its job had a scratch directory: it prints the directory and dies.
KILLED_IN_A_JOB = """
import os, pathlib, signal
from reflector.domain.processing.scratch import scratch_dir
held = scratch_dir(os.getpid())
(pathlib.Path(held.name) / "upload.wav").write_bytes(b"RIFF")
print(held.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_workers_scratch_is_removed_and_a_running_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_A_JOB], env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = Path(killed.stdout.decode().strip())
    assert left.parent == tmp_path and (left / "upload.wav").exists()

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_dir(os.getpid()) as running:
        others = [tmp_path / "reflector-numba", tmp_path / "reflector-metrics-1x2", tmp_path / "upload.wav"]
        for other in others:
            other.mkdir()
        assert remove_orphaned_scratch() == [left]
        assert not left.exists() and Path(running).is_dir() and all(o.exists() for o in others)
