"""Deleting a transcript's audio deletes it: the upload, its parts, the mp3 and the waveform leave the store
(local and S3), the player gets 404, and a later reprocess is refused with a sentence, not a crash."""

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pytest
from httpx import AsyncClient

from reflector.adapters.storage import LocalStorage
from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.jobs import JobServices, run_speech
from reflector.domain.processing.steps import StepWriter
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.domain.transcripts.service import audio_key, steps_prefix, waveform_key
from reflector.pipelines import audio
from reflector.pipelines.meeting import DecodedAudio, PipelineOptions
from reflector.settings import Settings
from reflector.web import recording
from tests.live_client import PacedRecording, live_recording
from tests.paths import REAL

SENTENCE = (
    "The recording of this transcript was deleted, so it can't be processed again: "
    "upload the recording anew to process it"
)


async def _with_everything(services: Services, api: AsyncClient) -> str:
    """A processed transcript as the store holds it: upload, leftover upload parts, mp3, waveform, steps."""
    transcript_id = (await api.post("/v1/transcripts", json={"name": "Board meeting"})).json()["id"]
    store = services.storage
    await store.put_bytes(f"transcripts/{transcript_id}/upload.m4a", b"the recording")
    await store.put_bytes(f"transcripts/{transcript_id}/chunks/3/00001-4.webm", b"part")
    await store.put_bytes(audio_key(transcript_id), b"ID3" + bytes(1000))
    await store.put_bytes(waveform_key(transcript_id), b"[0.0, 0.5, 1.0]")
    await store.put_bytes(f"{steps_prefix(transcript_id)}assemble.json", b"[]")
    await services.transcripts.emit(transcript_id, parse("WAVEFORM", {"waveform": [0.0, 0.5, 1.0]}))
    await services.transcripts.emit(transcript_id, parse("DURATION", {"duration": 1000.0}))
    await services.transcripts.set_status(transcript_id, "error", "Processing failed")
    return transcript_id


async def _delete_audio_and_check(services: Services, api: AsyncClient) -> str:
    transcript_id = await _with_everything(services, api)
    base = f"/v1/transcripts/{transcript_id}"

    patched = await api.patch(base, json={"audio_deleted": True})
    assert patched.status_code == 200 and patched.json()["audio_deleted"] is True

    # Straight from the store: only the steps' text outputs remain.
    assert await services.storage.list_keys(f"transcripts/{transcript_id}/") == [
        f"{steps_prefix(transcript_id)}assemble.json"
    ]
    mp3 = await api.get(f"{base}/audio/mp3")
    assert (mp3.status_code, mp3.json()) == (404, {"detail": "Audio unavailable due to privacy settings"})
    assert (await api.get(f"{base}/audio/waveform")).status_code == 404
    assert [event for event, _ in await services.transcripts.events(transcript_id)] == ["DURATION", "STATUS"]
    assert (await api.get(base)).status_code == 200  # the text stays

    reprocess = await api.post(f"{base}/process")
    assert (reprocess.status_code, reprocess.json()) == (400, {"detail": SENTENCE})
    # Asked again (say, after the store failed half-way), it deletes what is left and says the same.
    assert (await api.patch(base, json={"audio_deleted": True})).status_code == 200
    return transcript_id


async def test_deleting_the_audio_removes_it_and_all_made_from_it(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _delete_audio_and_check(clean, api)
    assert isinstance(clean.storage, LocalStorage)
    on_disk = [p.relative_to(clean.storage.root).as_posix() for p in clean.storage.root.rglob("*") if p.is_file()]
    assert [p for p in on_disk if transcript_id in p] == [f"{steps_prefix(transcript_id)}assemble.json"]

    retried = await api.post(f"/transcripts/{transcript_id}/processing/retry")
    assert retried.status_code == 400 and "recording of this transcript was deleted" in retried.text

    # A recording sent anew is the owner's to keep and process.
    await clean.transcripts.store_upload(transcript_id, REAL / "jfk.flac")
    assert (await clean.transcripts.get(transcript_id)).audio_deleted is False
    assert await clean.transcripts.upload_of(transcript_id) == f"transcripts/{transcript_id}/upload.flac"


async def test_deleting_the_audio_removes_it_from_s3(s3_api: tuple[Services, AsyncClient]) -> None:
    services, api = s3_api
    await _delete_audio_and_check(services, api)


async def test_a_run_queued_before_the_deletion_fails_with_the_reason(clean: Services, api: AsyncClient) -> None:
    transcript_id = (await api.post("/v1/transcripts", json={"name": "Stand-up"})).json()["id"]
    await clean.transcripts.store_upload(transcript_id, REAL / "jfk.flac")
    run, queued = await clean.runs.request(transcript_id, PipelineOptions())
    assert queued
    assert (await api.patch(f"/v1/transcripts/{transcript_id}", json={"audio_deleted": True})).status_code == 200

    job = JobServices(transcripts=clean.transcripts, runs=clean.runs, storage=clean.storage,
                      models=None, gate=None, holder=Holder())  # type: ignore[arg-type]  # fmt: skip
    assert await run_speech({"services": job}, run.id) == "error"
    transcript = await clean.transcripts.get(transcript_id)
    assert (transcript.status, transcript.error) == ("error", SENTENCE)


async def test_a_run_already_decoding_keeps_no_audio_of_a_deleted_recording(clean: Services, tmp_path: Path) -> None:
    transcript = await clean.transcripts.create(NewTranscript(name="Deleted mid-run"))
    await clean.transcripts.update(transcript.id, TranscriptChanges(audio_deleted=True))
    writer = StepWriter(clean.transcripts, clean.storage, transcript.id, owner=None)
    samples = np.zeros(audio.SAMPLE_RATE, dtype=np.float32)
    mp3 = audio.encode_mp3(samples, tmp_path / "audio.mp3")
    await writer.write("decode", DecodedAudio(samples, audio.duration_of(samples), audio.waveform(samples), mp3))
    assert await clean.storage.list_keys(f"transcripts/{transcript.id}/") == []
    assert (await clean.transcripts.get(transcript.id)).duration == 1000


async def test_a_recording_under_way_keeps_its_audio_and_a_deleted_one_leaves_none(
    clean: Services, served: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "RECONNECT_S", 2.0)
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        wav = Path(settings.data_dir) / "live" / f"{transcript_id}.wav"
        track = PacedRecording(audio.decode(REAL / "jfk.flac")[: audio.SAMPLE_RATE * 2])
        async with live_recording(http, transcript_id, track):
            await track.passed()
            refused = await http.patch(f"/v1/transcripts/{transcript_id}", json={"audio_deleted": True})
            assert refused.status_code == 409
            assert refused.json()["detail"].startswith("The meeting is still being recorded")
            assert wav.exists()
            assert (await http.delete(f"/v1/transcripts/{transcript_id}")).status_code == 200
        # The browser never comes back: the recording ends, and its file goes with the transcript.
        for _ in range(100):
            if not wav.exists():
                break
            await asyncio.sleep(0.1)
    assert not wav.exists()
