"""One machine, two kinds of heavy work: speech steps share the CPU, an LLM step has it alone.

llama.cpp collapses when its cores are shared, so an LLM step waits until no transcription or
diarization runs on this machine, and they wait for it. A shared/exclusive `flock` on a file in the
data directory works across every worker process on the machine and is released if one dies.
"""

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path


class MachineGate:
    def __init__(self, lock_path: Path) -> None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        self._path = lock_path

    @contextlib.asynccontextmanager
    async def __call__(self, kind: str) -> AsyncIterator[None]:
        mode = fcntl.LOCK_EX if kind == "llm" else fcntl.LOCK_SH
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            await asyncio.to_thread(fcntl.flock, fd, mode)
            yield
        finally:
            os.close(fd)  # closing releases the lock
