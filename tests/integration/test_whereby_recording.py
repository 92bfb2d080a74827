"""A room's Whereby cloud recording, from the meeting Whereby was told to record to our bucket to a diarized
transcript on that meeting (no mocks): the Whereby fake writes the call's composite MP4 into the moto
server's bucket with the keys it was given, the bucket notifies its SQS queue, and a real `reflector worker`
process, configured by its environment (AWS_PROCESS_RECORDING_QUEUE_URL), polls the queue, matches the
object to the meeting by the room name in its key and runs it through the file pipeline with the embedded
models, speakers told apart by the diarizer."""

import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import Recording
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.integration.test_room_recording import transcript_of_the_recording
from tests.integration.test_storage import s3_endpoint  # noqa: F401 - fixture
from tests.integration.whereby_meeting import composite_mp4, messages_left, notifying_bucket
from tests.integration.workers import WorkerProcess, wait_for_status
from tests.net import serve
from tests.paths import SYNTHETIC
from tests.platforms.conftest import whereby  # noqa: F401 - fixture
from tests.platforms.whereby_fake import FakeWhereby
from tests.references import read_stm

pytestmark = pytest.mark.slow

MEETING = SYNTHETIC / "budget"  # 63 s, Dana and Evan


class WherebyBucket(msgspec.Struct, frozen=True):
    endpoint: str
    name: str
    queue_url: str


@pytest.fixture
async def on_whereby(
    clean: Services,
    settings: Settings,
    whereby: FakeWhereby,  # noqa: F811
    s3_endpoint: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Services, WherebyBucket]]:
    name, queue_url = notifying_bucket(s3_endpoint)
    platforms = PlatformSettings(
        whereby_api_key=whereby.api_key,
        whereby_api_url=whereby.api_url,
        whereby_storage_bucket=name,
        whereby_storage_access_key_id="testing",
        whereby_storage_access_key_secret="testing",
    )
    for variable, value in {  # the worker's environment: the queue, and the S3 endpoint and keys to read with
        "AWS_PROCESS_RECORDING_QUEUE_URL": queue_url,
        "SQS_POLLING_TIMEOUT_SECONDS": "1",
        "TRANSCRIPT_STORAGE_AWS_ENDPOINT_URL": s3_endpoint,
        "TRANSCRIPT_STORAGE_AWS_ACCESS_KEY_ID": "testing",
        "TRANSCRIPT_STORAGE_AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(variable, value)
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    services = dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    yield services, WherebyBucket(s3_endpoint, name, queue_url)
    await close_platforms(bound)


def speaker_accuracy(words: list[dict[str, Any]]) -> tuple[float, dict[int, str]]:
    """The share of words whose diarized speaker, mapped to the script's person it most often is, is the
    person whose turn the word falls in; and that mapping."""
    turns = read_stm(MEETING.with_suffix(".stm"))

    def said_by(word: dict[str, Any]) -> str:
        middle = (word["start"] + word["end"]) / 2
        return min(turns, key=lambda t: max(t[1] - middle, middle - t[2], 0.0))[0]

    pairs = Counter((w["speaker"], said_by(w)) for w in words)
    mapping: dict[int, str] = {}
    for (speaker, person), _ in pairs.most_common():
        mapping.setdefault(speaker, person)
    right = sum(n for (speaker, person), n in pairs.items() if mapping[speaker] == person)
    return right / len(words), mapping


async def test_a_whereby_recording_written_to_our_bucket_becomes_a_diarized_transcript_of_its_meeting(
    on_whereby: tuple[Services, WherebyBucket],
    whereby: FakeWhereby,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    services, bucket = on_whereby
    recorded = RoomSettings(name="Budget", platform="whereby", recording_type="cloud", recording_trigger="automatic")
    room = await services.rooms.create("local", recorded)
    meeting = await services.meetings.meeting_for(room)
    # Another room's meeting opened later: the recording is matched by its key, not by time.
    ops = await services.rooms.create("local", msgspec.structs.replace(recorded, name="Ops"))
    other = await services.meetings.meeting_for(ops)
    assert whereby.recording_settings[meeting.platform_id] == {
        "type": "cloud",
        "destination": {"provider": "s3", "bucket": bucket.name, "accessKeyId": "testing",
                        "accessKeySecret": "testing", "fileFormat": "mp4"},
        "startTrigger": "automatic",
    }  # fmt: skip

    mp4 = composite_mp4(MEETING.with_suffix(".wav"), tmp_path / "budget.mp4")
    started = datetime(2026, 6, 1, 9, 30, 0, tzinfo=UTC)
    key = await whereby.record(meeting.platform_id, mp4, started_at=started, s3_endpoint=bucket.endpoint)
    assert key == f"{meeting.room_name.lstrip('/')}-2026-06-01T09:30:00Z.mp4"

    began = time.perf_counter()
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        transcript_id = await transcript_of_the_recording(services, worker)
        transcript = await wait_for_status(services, transcript_id, within_s=400)
        assert messages_left(bucket.endpoint, bucket.queue_url) == 0  # S3's test event and the recording's
    finally:
        worker.stop()
    seconds = time.perf_counter() - began
    assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])

    async with serve(create_app(services.settings, services=services)) as base, httpx.AsyncClient(base_url=base) as api:
        shown = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
        topics = (await api.get(f"/v1/transcripts/{transcript_id}/topics/with-words")).json()
    assert shown["source_kind"] == "room" and shown["room_id"] == room.id and shown["meeting_id"] == meeting.id
    assert shown["meeting_id"] != other.id and shown["name"] == "budget 2026-06-01 09:30 UTC"
    words = [w for topic in topics for w in topic["words"]]
    accuracy, mapping = speaker_accuracy(words)
    print(f"\nwhereby recording: {transcript.duration / 1000:.1f} s meeting, queue to ended in {seconds:.1f} s, "
          f"speakers {sorted(set(mapping.values()))}, accuracy {accuracy:.1%} over {len(words)} words")  # fmt: skip
    assert sorted(set(mapping.values())) == ["dana", "evan"] and len(mapping) == 2
    assert accuracy >= 0.9
    recording = await Recording.select(Recording.status, Recording.object_key).first()
    assert recording == {"status": "completed", "object_key": key}
