"""The Processing view: where a transcript's run stands, step by step, live; Retry after an error.

The page renders the run's state from PostgreSQL (so a reload shows where it is), then PROGRESS events
move the bars (processing.js) and each STATUS event has htmx fetch the `run` block again from here.
"""

from typing import Any, ClassVar, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from reflector.bootstrap import Services
from reflector.domain.processing.models import RunView
from reflector.domain.transcripts.models import NoUpload, TranscriptLocked, TranscriptView
from reflector.pipelines.meeting import STEP_WEIGHTS, STEPS
from reflector.web.htmx import is_htmx, render

# What each step of the file pipeline does, in a person's words.
STEP_LABELS: dict[str, str] = {
    "decode": "Read the audio",
    "transcribe": "Transcribe speech",
    "diarize": "Tell the speakers apart",
    "assemble": "Attribute words to speakers",
    "topics": "Find the topics",
    "summarize": "Write the title and summaries",
}
assert set(STEP_LABELS) == set(STEPS), "every pipeline step needs a label"

StepState = Literal["waiting", "running", "done", "failed", "not-run"]
# queued/running: a run is under way; error: the last one failed; ready: uploaded, no run; empty: no upload.
Phase = Literal["queued", "running", "error", "ready", "empty"]


class StepView(msgspec.Struct, frozen=True):
    name: str
    label: str
    state: StepState
    percent: int


def _phase(transcript: TranscriptView, run: RunView | None) -> Phase:
    # The run is what is happening now: a retried transcript still says `error` until a worker claims it.
    if run is not None and run.status in ("queued", "running"):
        return run.status
    if transcript.status == "error" or (run is not None and run.status == "failed"):
        return "error"
    if transcript.status == "idle":
        return "empty"
    return "ready"


def _steps(run: RunView | None, phase: Phase) -> list[StepView]:
    done = set(run.timings) if run else set()
    current = run.step if run else ""
    # The run row keeps only the overall progress: the current step gets what the finished ones leave.
    finished = sum(STEP_WEIGHTS[s] for s in done if s in STEP_WEIGHTS)
    views = []
    for step in STEPS:
        state: StepState = "waiting"
        percent = 0
        if step in done:
            state, percent = "done", 100
        elif step == current and phase == "running":
            share = (run.progress - finished) / STEP_WEIGHTS[step] if run else 0.0
            state, percent = "running", int(min(max(share, 0.0), 0.99) * 100)
        elif phase == "error":
            state = "failed" if step == current else "not-run"
        views.append(StepView(name=step, label=STEP_LABELS[step], state=state, percent=percent))
    return views


async def _page(request: Request, services: Services, transcript_id: str, *, problem: str = "") -> Response[Any]:
    transcript = await services.transcripts.get(transcript_id)
    target = f"/transcripts/{transcript_id}"
    if transcript.status == "ended":
        if is_htmx(request):
            return Response("", headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    run = await services.runs.latest(transcript_id)
    phase = _phase(transcript, run)
    error = transcript.error or (run.error if run else "") or "Processing failed."
    context = {
        "transcript": transcript,
        "display_name": transcript.title or transcript.name or "Untitled recording",
        "run": run,
        "phase": phase,
        "steps": _steps(run, phase),
        "overall": int((run.progress if run and phase != "empty" else 0) * 100),
        "current_label": STEP_LABELS.get(run.step, "") if run else "",
        "error": error,
        "problem": problem,
    }
    return render(request, "pages/processing.html", context, block="run", status_code=400 if problem else 200)


class ProcessingController(Controller):
    path = "/transcripts/{transcript_id:str}/processing"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "write"}

    @get("/", opt={"access": "read"})
    async def processing(self, request: Request, services: Services, transcript_id: str) -> Response[Any]:
        return await _page(request, services, transcript_id)

    @post("/retry", status_code=303)
    async def retry_processing(self, request: Request, services: Services, transcript_id: str) -> Response[Any]:
        """Queue a new run (as POST /v1/transcripts/{id}/process does) and show it."""
        try:
            await services.runs.reprocess(transcript_id)
        except (NoUpload, TranscriptLocked) as exc:
            return await _page(request, services, transcript_id, problem=str(exc))
        return Redirect(f"/transcripts/{transcript_id}/processing", status_code=303)
