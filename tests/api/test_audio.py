"""What clients download through the /v1 API: the recording with byte ranges (local and S3 storage),
its waveform, and the transcript exported as a file."""

import pytest
from httpx import AsyncClient

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import TranscriptChanges
from reflector.domain.transcripts.service import audio_key, waveform_key
from reflector.pipelines import audio
from tests.paths import REAL


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real recording as the pipeline leaves it for the player."""
    path = audio.encode_mp3(REAL / "jfk.flac", tmp_path_factory.mktemp("audio") / "audio.mp3")
    return path.read_bytes()


async def _with_audio(services: Services, api: AsyncClient, mp3: bytes) -> str:
    transcript_id = (await api.post("/v1/transcripts", json={"name": "Speech"})).json()["id"]
    await services.storage.put_bytes(audio_key(transcript_id), mp3)
    return transcript_id


def _url(transcript_id: str) -> str:
    return f"/v1/transcripts/{transcript_id}/audio/mp3"


async def test_whole_recording_downloads_as_an_attachment(clean: Services, api: AsyncClient, mp3: bytes) -> None:
    transcript_id = await _with_audio(clean, api, mp3)
    response = await api.get(_url(transcript_id))
    assert response.status_code == 200 and response.content == mp3
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["content-length"] == str(len(mp3))
    name = f"recording_{transcript_id.split('-')[0]}.mp3"
    assert response.headers["content-disposition"] == f"attachment; filename={name}"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=100-199", 100, 200),
        ("bytes=1000-", 1000, None),
        ("bytes=-500", -500, None),
        ("bytes=0-99999999", 0, None),
    ],
)
async def test_byte_ranges_answer_206_with_that_slice(
    clean: Services, api: AsyncClient, mp3: bytes, header: str, start: int, end: int | None
) -> None:
    transcript_id = await _with_audio(clean, api, mp3)
    response = await api.get(_url(transcript_id), headers={"Range": header})
    expected = mp3[start:end]
    assert response.status_code == 206 and response.content == expected
    first = start % len(mp3)
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(mp3)}"
    assert response.headers["content-length"] == str(len(expected))


async def test_ranges_past_the_end_are_refused_and_unreadable_ones_ignored(
    clean: Services, api: AsyncClient, mp3: bytes
) -> None:
    transcript_id = await _with_audio(clean, api, mp3)
    for unsatisfiable in (f"bytes={len(mp3)}-", "bytes=-0"):
        response = await api.get(_url(transcript_id), headers={"Range": unsatisfiable})
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{len(mp3)}"
    for malformed in ("bytes=abc", "items=0-10", "bytes=50-10", "bytes=0-1,5-9"):
        response = await api.get(_url(transcript_id), headers={"Range": malformed})
        assert (response.status_code, response.content) == (200, mp3)


async def test_head_gives_the_headers_without_the_body(clean: Services, api: AsyncClient, mp3: bytes) -> None:
    transcript_id = await _with_audio(clean, api, mp3)
    whole = await api.head(_url(transcript_id))
    assert (whole.status_code, whole.content) == (200, b"")
    assert whole.headers["content-length"] == str(len(mp3)) and whole.headers["content-type"] == "audio/mpeg"
    assert whole.headers["content-disposition"].startswith("attachment; filename=recording_")
    partial = await api.head(_url(transcript_id), headers={"Range": "bytes=0-9"})
    assert partial.status_code == 206 and partial.headers["content-range"] == f"bytes 0-9/{len(mp3)}"


async def test_missing_or_withheld_audio_is_404(clean: Services, api: AsyncClient, mp3: bytes) -> None:
    bare = (await api.post("/v1/transcripts", json={"name": "No audio"})).json()["id"]
    assert (await api.get(_url(bare))).json() == {"detail": "Audio file not found"}
    assert (await api.get(_url("no-such-transcript"))).status_code == 404

    purged = await _with_audio(clean, api, mp3)
    await api.patch(f"/v1/transcripts/{purged}", json={"audio_deleted": True})
    response = await api.get(_url(purged))
    assert (response.status_code, response.json()) == (404, {"detail": "Audio unavailable due to privacy settings"})


async def test_ranges_stream_from_s3(s3_api: tuple[Services, AsyncClient], mp3: bytes) -> None:
    services, api = s3_api
    transcript_id = await _with_audio(services, api, mp3)
    partial = await api.get(_url(transcript_id), headers={"Range": "bytes=2000-2999"})
    assert (partial.status_code, partial.content) == (206, mp3[2000:3000])
    whole = await api.get(_url(transcript_id))
    assert (whole.status_code, whole.content) == (200, mp3)
    assert (await api.get(_url(transcript_id), headers={"Range": f"bytes={len(mp3)}-"})).status_code == 416


async def test_waveform(clean: Services, api: AsyncClient) -> None:
    transcript_id = (await api.post("/v1/transcripts", json={"name": "Speech"})).json()["id"]
    url = f"/v1/transcripts/{transcript_id}/audio/waveform"
    missing = await api.get(url)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Audio not found"})

    await clean.storage.put_bytes(waveform_key(transcript_id), b"[0.0, 0.25, 1.0]")
    assert (await api.get(url)).json() == {"data": [0.0, 0.25, 1.0]}

    await clean.storage.put_bytes(waveform_key(transcript_id), b"[0.0, 0.2")  # cut short
    assert (await api.get(url)).status_code == 404


async def _processed(services: Services, api: AsyncClient) -> str:
    transcript_id = (await api.post("/v1/transcripts", json={"name": "Weekly sync"})).json()["id"]
    words = [
        {"text": text, "start": start, "end": start + 0.4, "speaker": speaker}
        for speaker, text, start in [(0, "Hello", 0.0), (0, "team.", 0.5), (1, "Budget", 1.0), (1, "is", 1.5),
                                     (1, "fine.", 2.0)]
    ]  # fmt: skip
    await services.transcripts.replace_topics(
        transcript_id,
        [{"title": "Budget", "summary": "It is fine.", "timestamp": 0.0, "duration": 2.4, "words": words}],
    )
    await services.transcripts.update(transcript_id, TranscriptChanges(title="Budget & Release: Q3", duration=2400))
    await services.editor.refresh_text(transcript_id)
    return transcript_id


@pytest.mark.parametrize(
    ("fmt", "content_type", "spoken"),
    [
        ("txt", "text/plain; charset=utf-8", "Speaker 2: Budget is fine."),
        ("srt", "application/x-subrip; charset=utf-8", "Speaker 2: Budget is fine."),
        ("vtt", "text/vtt; charset=utf-8", "<v Speaker 2>Budget is fine."),
        ("json", "application/json", '"text": "Budget is fine."'),
        ("md", "text/markdown; charset=utf-8", "Budget is fine."),
    ],
)
async def test_export_each_format_as_a_download(
    clean: Services, api: AsyncClient, fmt: str, content_type: str, spoken: str
) -> None:
    transcript_id = await _processed(clean, api)
    response = await api.get(f"/v1/transcripts/{transcript_id}/export", params={"format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"] == f'attachment; filename="budget-release-q3.{fmt}"'
    assert spoken in response.text and "Hello team." in response.text


async def test_export_refuses_an_unknown_format(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)
    response = await api.get(f"/v1/transcripts/{transcript_id}/export", params={"format": "pdf"})
    assert response.status_code in (400, 422) and response.json()["detail"]
    assert (await api.get("/v1/transcripts/no-such-transcript/export")).status_code == 404
