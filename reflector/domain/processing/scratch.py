"""A job's scratch directory on its worker's machine: the recording downloaded from the store and the
player's mp3 being made. It is removed when the job ends; a worker killed outright (SIGKILL, the OOM killer)
leaves it behind, a copy of the recording as large as the upload, so the directory is named for its worker
process and the next worker to start on the machine removes those of processes that are gone."""

import re
import shutil
import tempfile
from pathlib import Path

from reflector.domain.processing.holders import process_alive

_PREFIX = "reflector-job-"
_NAMED = re.compile(rf"^{_PREFIX}(\d+)-")


def scratch_dir(pid: int) -> tempfile.TemporaryDirectory[str]:
    """A new scratch directory of worker process `pid`, in TMPDIR."""
    return tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{pid}-")


def remove_orphaned_scratch() -> list[Path]:
    """Remove the scratch directories in TMPDIR whose worker process is gone; the paths removed."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        named = _NAMED.match(path.name)
        if named is None or process_alive(int(named.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
