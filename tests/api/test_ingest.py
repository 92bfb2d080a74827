"""Recordings in through the /v1 API: chunked and single-shot uploads, their limits, and /process."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from httpx import AsyncClient

from reflector.bootstrap import Services, wire
from reflector.domain.processing.service import LOCKED, NOTHING_TO_PROCESS
from reflector.pipelines import audio
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.paths import REAL

SAMPLE = REAL / "two_speakers_sample.wav"  # 30 s
LimitedApi = Callable[..., AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
def limited_api(clean: Services, settings: Settings) -> LimitedApi:
    """The app with other server limits (max_upload_bytes, max_audio_seconds); handlers read them from
    their services' settings."""

    @asynccontextmanager
    async def client(**limits: Any) -> AsyncIterator[AsyncClient]:
        changed = msgspec.structs.replace(settings, server=msgspec.structs.replace(settings.server, **limits))
        transport = httpx.ASGITransport(
            app=create_app(changed, services=wire(changed, clean.redis, clean.bus, clean.storage, clean.queue))
        )
        async with AsyncClient(transport=transport, base_url="http://localhost") as api:
            yield api

    return client


def _pieces(data: bytes, count: int) -> list[bytes]:
    step = -(-len(data) // count)
    return [data[i : i + step] for i in range(0, len(data), step)]


async def _send(
    api: AsyncClient, transcript_id: str, number: int, total: int, body: bytes, filename: str = "meeting.wav"
) -> httpx.Response:
    return await api.post(
        f"/v1/transcripts/{transcript_id}/record/upload",
        params={"chunk_number": number, "total_chunks": total},
        files={"chunk": (filename, body, "application/octet-stream")},
    )


async def _in_pieces(body: bytes) -> AsyncIterator[bytes]:
    for piece in _pieces(body, 8):
        yield piece


async def _new(api: AsyncClient, **fields: Any) -> str:
    return (await api.post("/v1/transcripts", json={"name": "Call", **fields})).json()["id"]


async def _stored(services: Services, transcript_id: str) -> list[str]:
    return await services.storage.list_keys(f"transcripts/{transcript_id}/")


async def test_chunks_out_of_order_and_resent_join_into_the_upload(
    clean: Services, api: AsyncClient, tmp_path: Path
) -> None:
    transcript_id = await _new(api)
    first, second, third = _pieces(SAMPLE.read_bytes(), 3)

    for number, body in [(1, second), (0, first), (1, second)]:
        response = await _send(api, transcript_id, number, 3, body)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert (await api.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "idle"
    assert await clean.runs.latest(transcript_id) is None

    assert (await _send(api, transcript_id, 2, 3, third)).json() == {"status": "ok"}
    transcript = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
    assert (transcript["status"], transcript["source_kind"]) == ("uploaded", "file")
    assert round(transcript["duration"] / 1000) == 30
    run = await clean.runs.latest(transcript_id)
    assert run is not None and run.status == "queued"
    key = await clean.transcripts.upload_of(transcript_id)
    assert await _stored(clean, transcript_id) == [key] and key.endswith("/upload.wav")  # parts are gone
    await clean.storage.download(key, tmp_path / "upload.wav")
    assert (tmp_path / "upload.wav").read_bytes() == SAMPLE.read_bytes()
    assert round(audio.duration_of(audio.decode(tmp_path / "upload.wav"))) == 30


async def test_single_shot_upload_of_a_browser_blob(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _new(api)
    # Browsers name Blob slices "blob": the stored upload takes its suffix from the container instead.
    response = await _send(api, transcript_id, 0, 1, (REAL / "hotwords.mp3").read_bytes(), filename="blob")
    assert response.json() == {"status": "ok"}
    assert (await api.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "uploaded"
    assert (await clean.transcripts.upload_of(transcript_id)).endswith("/upload.mp3")
    assert await clean.runs.latest(transcript_id) is not None


async def test_a_missing_chunk_is_named_and_the_upload_completes_once_it_arrives(
    clean: Services, api: AsyncClient
) -> None:
    transcript_id = await _new(api)
    first, second, third = _pieces(SAMPLE.read_bytes(), 3)
    await _send(api, transcript_id, 0, 3, first)

    response = await _send(api, transcript_id, 2, 3, third)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Missing chunks 1 of 3")
    assert (await api.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "idle"

    assert (await _send(api, transcript_id, 1, 3, second)).json() == {"status": "ok"}
    assert (await api.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "uploaded"


async def test_a_file_without_audio_is_refused_and_nothing_is_kept(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _new(api)
    response = await _send(api, transcript_id, 0, 1, b"minutes of the meeting\n" * 100, filename="notes.txt")
    assert (response.status_code, response.json()) == (400, {"detail": "File has no audio stream"})
    assert await _stored(clean, transcript_id) == []
    assert (await api.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "idle"
    assert await clean.runs.latest(transcript_id) is None


async def test_uploads_past_the_size_limit_are_refused(clean: Services, limited_api: LimitedApi) -> None:
    data = SAMPLE.read_bytes()
    async with limited_api(max_upload_bytes=len(data) // 2) as api:
        transcript_id = await _new(api)
        whole = await _send(api, transcript_id, 0, 1, data)
        assert whole.status_code == 413 and "MAX_UPLOAD_BYTES" in whole.json()["detail"]
        # Without a Content-Length the body is counted as it streams in.
        form = api.build_request("POST", "/", files={"chunk": ("meeting.wav", data)})
        streamed = await api.post(
            f"/v1/transcripts/{transcript_id}/record/upload",
            params={"chunk_number": 0, "total_chunks": 1},
            content=_in_pieces(form.read()),
            headers={"Content-Type": form.headers["Content-Type"]},
        )
        assert streamed.status_code == 413 and "MAX_UPLOAD_BYTES" in streamed.json()["detail"]

        first, second, _ = _pieces(data, 3)
        assert (await _send(api, transcript_id, 0, 3, first)).status_code == 200
        running_total = await _send(api, transcript_id, 1, 3, second)
        assert running_total.status_code == 413 and "limit" in running_total.json()["detail"]
        # The chunk that fit is kept: a smaller second chunk may still follow.
        assert len(await _stored(clean, transcript_id)) == 1


async def test_a_recording_past_the_duration_limit_is_refused(clean: Services, limited_api: LimitedApi) -> None:
    async with limited_api(max_audio_seconds=20) as api:
        transcript_id = await _new(api)
        response = await _send(api, transcript_id, 0, 1, SAMPLE.read_bytes())
        assert response.status_code == 413
        assert "limit of 0:00:20" in response.json()["detail"] and "MAX_AUDIO_SECONDS" in response.json()["detail"]
        assert await _stored(clean, transcript_id) == []


async def test_bad_chunk_numbers_are_refused(api: AsyncClient) -> None:
    transcript_id = await _new(api)
    body = SAMPLE.read_bytes()[:1000]
    past_the_end = await _send(api, transcript_id, 3, 3, body)
    assert past_the_end.status_code == 400 and "between 0 and total_chunks - 1" in past_the_end.json()["detail"]
    assert (await _send(api, transcript_id, 0, 0, body)).status_code == 422
    assert (await _send(api, transcript_id, -1, 2, body)).status_code == 422
    no_file = await api.post(
        f"/v1/transcripts/{transcript_id}/record/upload", params={"chunk_number": 0, "total_chunks": 1}
    )
    assert no_file.status_code in (400, 422)
    assert (await _send(api, "no-such-transcript", 0, 1, body)).status_code == 404


async def test_upload_is_refused_while_locked_or_processing(clean: Services, api: AsyncClient) -> None:
    locked = await _new(api)
    await api.patch(f"/v1/transcripts/{locked}", json={"locked": True})
    response = await _send(api, locked, 0, 1, SAMPLE.read_bytes())
    assert (response.status_code, response.json()) == (400, {"detail": "Transcript is locked"})

    busy = await _new(api)
    assert (await _send(api, busy, 0, 1, SAMPLE.read_bytes())).status_code == 200
    again = await _send(api, busy, 0, 1, SAMPLE.read_bytes())
    assert (again.status_code, again.json()) == (400, {"detail": "There is already an upload in progress"})


async def test_process_queues_once_then_reports_the_run(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _new(api)
    not_ready = await api.post(f"/v1/transcripts/{transcript_id}/process")
    assert (not_ready.status_code, not_ready.json()) == (400, {"detail": NOTHING_TO_PROCESS})

    await clean.transcripts.store_upload(transcript_id, SAMPLE)
    first = await api.post(f"/v1/transcripts/{transcript_id}/process")
    assert (first.status_code, first.json()) == (200, {"status": "ok"})
    assert (await api.post(f"/v1/transcripts/{transcript_id}/process")).json() == {"status": "already running"}

    await api.patch(f"/v1/transcripts/{transcript_id}", json={"locked": True})
    locked = await api.post(f"/v1/transcripts/{transcript_id}/process")
    assert (locked.status_code, locked.json()) == (400, {"detail": LOCKED})
