"""A room's Daily raw-tracks recording, from the platform's webhook to a transcript whose speakers carry the
participants' names (no mocks): the room and its meeting on the Daily fake, the tracks of a `make_meeting.py`
stand-up in the moto S3 server under Daily's key layout (DAILYCO_STORAGE_AWS_BUCKET_NAME), the fake sending
`recording.ready-to-download`, signed, to the real webhook route, and a real `reflector worker` process,
configured by its environment, finding the recording, naming its participants through Daily's API and
running it with the embedded models."""

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from reflector.adapters.storage import S3Storage, Storage
from reflector.bootstrap import Services, video_platforms
from reflector.domain.processing import repository as runs_table
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.recordings import RecordingService
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import Recording
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.integration.daily_meeting import PARTICIPANTS, DailyMeeting, make_daily_meeting
from tests.integration.test_storage import CREDENTIALS, _create_bucket, s3_endpoint  # noqa: F401 - fixture
from tests.integration.workers import WorkerProcess, wait_for_status
from tests.net import serve
from tests.platforms.conftest import daily  # noqa: F401 - fixture
from tests.platforms.daily_fake import FakeDaily

pytestmark = pytest.mark.slow

DAILY_SECRET = "ZGFpbHktd2ViaG9vay1zZWNyZXQtMzItYnl0ZXMhISE="


@pytest.fixture
async def recordings_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[S3Storage]:  # noqa: F811
    """The bucket Daily writes recordings to (moto's real HTTP server), as a worker's environment names it;
    the transcripts stay in the local store."""
    async with S3Storage(bucket=_create_bucket(s3_endpoint), endpoint_url=s3_endpoint, **CREDENTIALS) as bucket:
        for name, value in {
            "DAILYCO_STORAGE_AWS_BUCKET_NAME": bucket.bucket,
            "TRANSCRIPT_STORAGE_AWS_ENDPOINT_URL": s3_endpoint,
            "TRANSCRIPT_STORAGE_AWS_ACCESS_KEY_ID": "testing",
            "TRANSCRIPT_STORAGE_AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        yield bucket


@pytest.fixture
async def on_daily(
    clean: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Services]:
    platforms = PlatformSettings(
        daily_api_key=daily.api_key, daily_api_url=daily.api_url, daily_webhook_secret=DAILY_SECRET
    )
    for name, value in {"DAILY_API_KEY": daily.api_key, "DAILY_API_URL": daily.api_url}.items():
        monkeypatch.setenv(name, value)
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    yield dataclasses.replace(
        clean,
        settings=configured,
        meetings=MeetingService(clean.redis, clean.rooms, bound),
        recordings=RecordingService(clean.transcripts, clean.runs, bound),
    )
    await close_platforms(bound)


async def record_on_daily(daily: FakeDaily, room_name: str, made: DailyMeeting) -> None:  # noqa: F811
    """Daily records the room's call: the session's participants are the script's, with the ids in the
    tracks' names, and the recording finishes with its tracks listed (video included, as Daily lists it)."""
    session = str(uuid.uuid4())
    daily.meeting_rooms[session] = room_name
    joined = time.time()
    daily.participants[session] = [
        {"participant_id": pid, "user_id": None, "user_name": name, "join_time": joined, "duration": 40}
        for pid, name in PARTICIPANTS.values()
    ]
    recording_id = str(uuid.uuid4())
    daily.recordings[recording_id] = {
        "id": recording_id, "room_name": room_name, "start_ts": joined, "status": "in-progress",
        "max_participants": 3, "duration": 0, "s3key": None, "mtgSessionId": session, "_type": "raw-tracks",
    }  # fmt: skip
    tracks = [
        {"type": "video" if "-video-" in key else "audio", "s3Key": key, "size": made.path_of(key).stat().st_size}
        for key in made.keys
    ]
    await daily.finish_recording(recording_id, tracks)


async def transcript_of_the_recording(services: Services, worker: WorkerProcess, within_s: float = 120) -> str:
    """The transcript the worker's sweep made of the meeting's recording."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        row = await Recording.select(Recording.transcript_id).first()
        if row and row["transcript_id"]:
            return row["transcript_id"]
        assert worker.process is not None and worker.process.poll() is None, worker.log()[-3000:]
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the recording was not taken up: {worker.log()[-3000:]}")


def speaker_in_script(made: DailyMeeting, word: dict[str, Any]) -> str:
    """The participant whose turn a word falls in (the nearest turn for a word between turns)."""
    middle = (word["start"] + word["end"]) / 2
    turn = min(made.turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
    return PARTICIPANTS[turn.speaker][1]


async def test_a_daily_recording_becomes_a_transcript_whose_speakers_carry_the_participants_names(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
    recordings_bucket: Storage,
    settings: Settings,
    tmp_path: Path,
) -> None:
    services = on_daily
    made = make_daily_meeting(tmp_path / "daily")
    async with serve(create_app(services.settings, services=services)) as base:
        await services.meetings.platforms["daily"].client.create_webhook(  # type: ignore[attr-defined]
            f"{base}/v1/daily/webhook", ["recording.ready-to-download"], hmac=DAILY_SECRET
        )
        room = await services.rooms.create("local", RoomSettings(name="Stand-up", platform="daily"))
        meeting = await services.meetings.meeting_for(room)
        for key in made.keys:  # Daily writes each track to our bucket under its own key layout
            await recordings_bucket.put_file(key, made.path_of(key))
        await record_on_daily(daily, meeting.room_name, made)
        assert daily.deliveries == [("recording.ready-to-download", 200)]

        began = time.perf_counter()
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        try:
            transcript_id = await transcript_of_the_recording(services, worker)
            transcript = await wait_for_status(services, transcript_id, within_s=300)
        finally:
            worker.stop()
        seconds = time.perf_counter() - began
        assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
        run = await runs_table.latest_for(transcript_id)
        assert run is not None and run.kind == "multitrack"

        async with httpx.AsyncClient(base_url=base) as api:
            shown = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
            topics = (await api.get(f"/v1/transcripts/{transcript_id}/topics/with-words")).json()

    assert shown["status"] == "ended" and shown["source_kind"] == "room"
    assert shown["room_id"] == room.id and shown["meeting_id"] == meeting.id
    assert shown["name"].startswith("stand-up ")
    names = {p["speaker"]: p["name"] for p in shown["participants"]}
    assert sorted(names.values()) == ["Alice Martin", "Bob Okafor", "Carol Ng"]
    words = [w for topic in topics for w in topic["words"]]
    right = sum(names[w["speaker"]] == speaker_in_script(made, w) for w in words)
    print(f"\nroom recording: {made.duration:.1f} s meeting, webhook to ended in {seconds:.1f} s, "
          f"speaker accuracy {right / len(words):.1%} over {len(words)} words")  # fmt: skip
    assert right / len(words) >= 0.95
    assert {names[w["speaker"]] for w in words} == {"Alice Martin", "Bob Okafor", "Carol Ng"}
    assert await services.storage.size(f"transcripts/{transcript_id}/audio.mp3")
    # The room does not store video: the video track is gone from Daily's bucket, the audio tracks stay.
    assert sorted(await recordings_bucket.list_keys("acme.daily.co/")) == sorted(
        key for key in made.keys if "-video-" not in key
    )
    recording = await Recording.select(Recording.status).where(Recording.transcript_id == transcript_id).first()
    assert recording == {"status": "completed"}


async def test_a_declined_consent_leaves_no_audio_or_video_of_the_meeting_and_the_transcript_readable(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
    recordings_bucket: Storage,
    settings: Settings,
    tmp_path: Path,
) -> None:
    services = on_daily
    made = make_daily_meeting(tmp_path / "daily")
    async with serve(create_app(services.settings, services=services)) as base, httpx.AsyncClient(base_url=base) as api:
        await services.meetings.platforms["daily"].client.create_webhook(  # type: ignore[attr-defined]
            f"{base}/v1/daily/webhook", ["recording.ready-to-download"], hmac=DAILY_SECRET
        )
        room = await services.rooms.create("local", RoomSettings(name="Stand-up", platform="daily", store_video=True))
        meeting = await services.meetings.meeting_for(room)
        # One participant, anonymous, answers the meeting page's dialog: keep nothing of my voice.
        declined = await api.post(f"/v1/meetings/{meeting.id}/consent", json={"consent_given": False})
        assert declined.status_code == 200
        for key in made.keys:
            await recordings_bucket.put_file(key, made.path_of(key))
        await record_on_daily(daily, meeting.room_name, made)

        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        try:
            transcript_id = await transcript_of_the_recording(services, worker)
            transcript = await wait_for_status(services, transcript_id, within_s=300)
            assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
            # The workers' sweep deletes once the transcript has ended: the platform's bucket first, then our
            # store, and marks the recording last; the worker must not be stopped between the two.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                marked = (
                    await Recording.select(Recording.media_deleted_at)
                    .where(Recording.transcript_id == transcript_id)
                    .first()
                )
                if marked is not None and marked["media_deleted_at"] is not None:
                    break
                await asyncio.sleep(0.5)
        finally:
            worker.stop()
        shown = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
        topics = (await api.get(f"/v1/transcripts/{transcript_id}/topics/with-words")).json()
        audio = await api.get(f"/v1/transcripts/{transcript_id}/audio/mp3")

    # Nothing of the meeting's sound or image in Daily's bucket (tracks, video kept by the room, all), nor in
    # ours (the mp3, waveform and upload; only the steps' text outputs), nor in the worker's directory.
    assert await recordings_bucket.list_keys("") == []
    ours = await services.storage.list_keys(f"transcripts/{transcript_id}/")
    assert all(key.startswith(f"transcripts/{transcript_id}/steps/") for key in ours)
    # The data directory is the test session's: other tests' recordings may lie there, not this meeting's.
    sounds = [
        p
        for p in settings.data_dir.rglob("*")
        if p.suffix in (".webm", ".mp3", ".wav", ".ogg", ".mp4") and (transcript_id in str(p) or ".daily." in str(p))
    ]
    assert sounds == []
    assert audio.status_code == 404
    assert shown["status"] == "ended" and shown["audio_deleted"] is True
    assert sorted(p["name"] for p in shown["participants"]) == ["Alice Martin", "Bob Okafor", "Carol Ng"]
    assert sum(len(topic["words"]) for topic in topics) > 50  # its words, topics and summaries stay
    recording = await Recording.select(Recording.media_deleted_at).first()
    assert recording is not None and recording["media_deleted_at"] is not None
