"""Live recording end to end: an aiortc peer streams a meeting in real time to the served app, the live
worker (its own process) captions it, and after STOP the file pipeline makes the final transcript."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jiwer
import pytest

from reflector.bootstrap import Services
from reflector.domain.health import LIVE
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines import audio
from reflector.pipelines.transcribe import FasterWhisperTranscriber
from reflector.pipelines.types import no_progress
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess, wait_for_status
from tests.live_client import Captions, PacedRecording, follow_captions, live_recording, percentile
from tests.paths import REAL, SYNTHETIC
from tests.references import normalise, reference_text

pytestmark = pytest.mark.slow

STANDUP = SYNTHETIC / "standup.wav"


async def _final_captions_settle(clean: Services, transcript_id: str, within_s: float = 90.0) -> None:
    """After STOP the worker decodes what was left and sends a topic it was writing, then lets go."""
    for _ in range(int(within_s / 0.25)):
        if not await clean.redis.sismember("reflector:live:active", transcript_id):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(0.5)  # the last events on their way to the socket


async def _taken_over(clean: Services, transcript_id: str, gone: str, within_s: float = 120) -> None:
    """Wait until another captioner than `gone` holds the recording (the restarted worker took it over)."""
    for _ in range(int(within_s / 0.25)):
        if await clean.feed.captioner(transcript_id) not in (None, gone):
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"no captioner took the recording over from {gone} within {within_s} s")


@pytest.fixture
async def live_worker(clean: Services, settings: Settings, tmp_path: Path) -> AsyncIterator[WorkerProcess]:
    live = WorkerProcess(settings, tmp_path / "live.log", live=True).start()
    try:
        await live.serving(clean, LIVE)
        yield live
    finally:
        live.stop()


@dataclass
class Streamed:
    transcript_id: str
    track: PacedRecording
    captions: Captions


@contextlib.asynccontextmanager
async def streamed(clean: Services, served: str, samples: Any, **transcript: str) -> AsyncIterator[Streamed]:
    """A new transcript recorded live from `samples`, sent in real time, its events followed. Leaving sends
    the rest of the audio, then STOP, and waits for the live worker's last captions."""
    captions = Captions()
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json=transcript)).json()["id"]
        follower = asyncio.create_task(follow_captions(served, transcript_id, captions))
        track = PacedRecording(samples)
        try:
            async with live_recording(http, transcript_id, track) as peer:
                yield Streamed(transcript_id, track, captions)
                await track.passed()
                await asyncio.sleep(1.0)
                peer.stop()
                await _final_captions_settle(clean, transcript_id)
        finally:
            follower.cancel()


async def test_captions_follow_a_meeting_streamed_in_real_time(
    clean: Services, served: str, live_worker: WorkerProcess
) -> None:
    samples = audio.decode(STANDUP)
    async with streamed(clean, served, samples, name="Live stand-up") as live:
        await live.track.passed()
        shown_while_live = len(live.captions.events)
    captions, track, transcript_id = live.captions, live.track, live.transcript_id

    finals = captions.finals()
    latencies = captions.latencies(track)
    words = sum(len(f["words"]) for f in finals)
    file_words = FasterWhisperTranscriber().transcribe(samples, language="en", progress=no_progress).words
    file_text = normalise(" ".join(w.text for w in file_words))
    reference = reference_text(SYNTHETIC / "standup.stm")
    live_wer = jiwer.wer(reference, normalise(captions.text()))
    file_wer = jiwer.wer(reference, file_text)
    print(
        f"\nlive captions: {len(finals)} final captions, {words} words, "
        f"{sum(1 for _, d in captions.events if not d['final'])} partials; "
        f"latency p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
        f"max {max(latencies):.2f} s; WER live {live_wer:.1%}, file pipeline {file_wer:.1%}, "
        f"live vs file {jiwer.wer(file_text, normalise(captions.text())):.1%}"
    )
    assert shown_while_live > 10, "captions came only after the meeting"
    # Every utterance of the meeting is captioned, in order, and nothing twice.
    assert len(finals) >= 8
    starts = [f["start"] for f in finals]
    assert starts == sorted(starts) and finals[-1]["end"] > 60
    assert len(latencies) == words and all(lat > -0.5 for lat in latencies)
    assert live_wer <= file_wer + 0.10, (captions.text(), file_text)
    # Partials are sent, not kept; finals are in the transcript's log for a late page to replay.
    logged = [d for e, d in await clean.transcripts.events(transcript_id) if e == "TRANSCRIPT"]
    assert logged and all(d["final"] for d in logged)
    assert (await clean.redis.smembers("reflector:live:active")) == set()
    # A topic while the meeting went on, in Reflector's TOPIC shape.
    topics = [e["data"] for e in captions.other if e["event"] == "TOPIC"]
    assert topics and all(t["title"] and t["segments"] for t in topics), captions.other
    print("live topics: " + " | ".join(f"{t['timestamp']:.0f} s {t['title']}: {t['summary']}" for t in topics))


async def test_killing_the_live_worker_loses_captions_for_a_while_never_the_recording(
    clean: Services, settings: Settings, served: str, tmp_path: Path, live_worker: WorkerProcess
) -> None:
    samples = audio.decode(STANDUP)
    worker: WorkerProcess | None = None
    try:
        async with streamed(clean, served, samples, name="Live, interrupted") as live:
            await live.track.passed(20)
            assert live.captions.finals(), "no captions before the kill"
            first = await clean.feed.captioner(live.transcript_id)
            assert first is not None, "no captioner held the recording"
            live_worker.kill()
            killed_at = live.track.seconds_sent
            await asyncio.sleep(3)
            live_worker.start()  # the same command again, as a supervisor would
            await _taken_over(clean, live.transcript_id, first)
        # The recording goes on to the file pipeline as any other.
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        transcript = await wait_for_status(clean, live.transcript_id, within_s=900)
    finally:
        if worker is not None:
            worker.stop()
    captions, transcript_id = live.captions, live.transcript_id

    finals = captions.finals()
    shown = " | ".join(f"{f['start']:.1f} {f['text']}" for f in finals)
    print(f"\ncaptions around a kill at {killed_at:.1f} s: {shown}")
    # The restarted worker resumed after the last final caption: later speech captioned, none twice.
    assert any(f["start"] > killed_at + 3 for f in finals)
    indexes = [f["index"] for f in finals]
    assert indexes == sorted(set(indexes))
    assert [f["start"] for f in finals] == sorted(f["start"] for f in finals)
    # What was received is kept and processed: the whole meeting, with its speakers and words.
    assert transcript.status == "ended", (transcript.error, worker.log()[-3000:] if worker else "")
    assert transcript.duration == pytest.approx(70_500, abs=1_500)
    result = await meeting_result(clean.transcripts, transcript_id)
    assert len(result.speakers) >= 2
    final_text = normalise(" ".join(w.text for w in result.words))
    assert "rollback" in final_text and "login" in final_text
    # The final transcript is the file pipeline's on the same audio: sent over WebRTC (Opus) and kept, it
    # scores as the original does.
    original = FasterWhisperTranscriber().transcribe(samples, language="en", progress=no_progress)
    original_text = normalise(" ".join(w.text for w in original.words))
    reference = reference_text(SYNTHETIC / "standup.stm")
    final_wer, file_wer = jiwer.wer(reference, final_text), jiwer.wer(reference, original_text)
    print(f"WER of the final transcript {final_wer:.1%}, of the file pipeline on the original {file_wer:.1%}")
    print(f"final: {final_text}\nfile:  {original_text}")
    assert abs(final_wer - file_wer) <= 0.05


async def test_captions_are_translated_live_into_the_target_language(
    clean: Services, served: str, live_worker: WorkerProcess
) -> None:
    samples = audio.decode(REAL / "jfk.flac")
    async with streamed(clean, served, samples, name="Translated", source_language="en", target_language="fr") as live:
        pass
    captions = live.captions
    translations = [e["data"] for e in captions.other if e["event"] == "TRANSLATION"]
    finals = {f["index"]: f for f in captions.finals()}
    print("\n" + " | ".join(f"{t['text']} -> {t['translation']}" for t in translations))
    assert translations and all(t["machine"] and t["target_language"] == "fr" for t in translations)
    assert {t["index"] for t in translations} == set(finals)
    french = " ".join(t["translation"] for t in translations).lower()
    assert "pays" in french, french  # "country"
