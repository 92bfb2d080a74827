"""A Daily cloud (composite) recording, announced by Daily's signed `recording.ready-to-download`, becomes a
diarized file run of its meeting's transcript: the MP4 Daily wrote to DAILYCO_STORAGE_AWS_BUCKET_NAME (the moto
server) is copied into the transcript's upload (its sound only, the room storing no video), as a Whereby recording
is; Daily does not say who spoke when."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from reflector.adapters.storage import S3Storage
from reflector.bootstrap import Services, bucket_named, video_platforms
from reflector.domain.processing.tables import PipelineRun
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.recordings import RecordingService
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import Recording
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.integration.test_room_recording import DAILY_SECRET
from tests.integration.test_storage import CREDENTIALS, _create_bucket, s3_endpoint  # noqa: F401 - fixture
from tests.integration.whereby_meeting import composite_mp4
from tests.net import serve
from tests.paths import REAL
from tests.platforms.conftest import daily  # noqa: F401 - fixture
from tests.platforms.daily_fake import FakeDaily


@pytest.fixture
async def on_daily(
    clean: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
    s3_endpoint: str,  # noqa: F811
) -> AsyncIterator[tuple[Services, S3Storage]]:
    bucket = _create_bucket(s3_endpoint)
    platforms = PlatformSettings(
        daily_api_key=daily.api_key,
        daily_api_url=daily.api_url,
        daily_webhook_secret=DAILY_SECRET,
        daily_storage_bucket=bucket,
    )
    store = msgspec.structs.replace(
        settings.storage, aws_endpoint_url=s3_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    configured = msgspec.structs.replace(settings, platforms=platforms, storage=store)
    bound = video_platforms(configured)
    services = dataclasses.replace(
        clean,
        settings=configured,
        meetings=MeetingService(clean.redis, clean.rooms, bound),
        recordings=RecordingService(clean.transcripts, clean.runs, bound, bucket_named(configured)),
    )
    async with S3Storage(bucket=bucket, endpoint_url=s3_endpoint, **CREDENTIALS) as written:
        yield services, written
    await close_platforms(bound)


async def test_a_daily_cloud_recording_becomes_a_diarized_run_of_its_meetings_transcript(
    on_daily: tuple[Services, S3Storage],
    daily: FakeDaily,  # noqa: F811
    tmp_path: Path,
) -> None:
    services, bucket = on_daily
    async with serve(create_app(services.settings, services=services)) as base:
        await services.meetings.platforms["daily"].client.create_webhook(  # type: ignore[attr-defined]
            f"{base}/v1/daily/webhook", ["recording.ready-to-download"], hmac=DAILY_SECRET
        )
        room = await services.rooms.create("alice", RoomSettings(name="All hands", platform="daily"))
        meeting = await services.meetings.meeting_for(room)
        recording_id = str(uuid.uuid4())
        daily.recordings[recording_id] = {
            "id": recording_id, "room_name": meeting.room_name, "start_ts": 1_780_000_000, "status": "in-progress",
            "max_participants": 2, "duration": 0, "s3key": None, "mtgSessionId": None, "_type": "cloud",
        }  # fmt: skip
        key = f"{daily.domain}/{meeting.room_name}/1780000000000"  # where Daily writes it (no extension)
        await bucket.put_file(key, composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4"))
        await daily.finish_recording(recording_id)
        assert daily.deliveries == [("recording.ready-to-download", 200)]

    [transcript_id] = await services.recordings.process_waiting()

    row = await Recording.select(Recording.meeting_id, Recording.object_key, Recording.track_keys, Recording.status)
    assert row == [{"meeting_id": meeting.id, "object_key": key, "track_keys": None, "status": "completed"}]
    transcript = await services.transcripts.get(transcript_id)
    assert (transcript.room_id, transcript.meeting_id, transcript.status) == (room.id, meeting.id, "uploaded")
    assert await services.transcripts.upload_of(transcript_id) == f"transcripts/{transcript_id}/upload.mka"
    [run] = await PipelineRun.select().where(PipelineRun.transcript_id == transcript_id).output(load_json=True)
    assert run["kind"] != "multitrack" and run["options"]["diarize"] is True
    # The room does not store video: the sound alone is kept, and the composite leaves Daily's bucket.
    assert not await bucket.exists(key)
