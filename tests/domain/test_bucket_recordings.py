"""Whereby's recordings announced by their bucket (S3 -> SQS, moto's real server) against the real PostgreSQL and
Redis: each becomes a diarized run on its meeting's transcript, matched by the room name in its key; a
message is deleted only once its recording is kept; nothing a message says can stop the loop; a message
delivered twice changes nothing."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import boto3
import pytest

from reflector.adapters.recording_queue import RecordingQueue
from reflector.adapters.storage import S3Storage, Storage
from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.processing.tables import PipelineRun
from reflector.domain.rooms import bucket_recordings
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.bucket_recordings import (
    CreatedObject,
    RecordingNotices,
    UnreadableNotification,
    created_objects,
    whereby_recording,
)
from reflector.domain.rooms.models import MeetingView, RoomSettings
from reflector.domain.rooms.recordings import RecordingService
from reflector.domain.rooms.tables import Recording
from reflector.domain.transcripts import repository as transcripts_table
from tests.integration.test_storage import s3_endpoint  # noqa: F401 - fixture
from tests.integration.whereby_meeting import CLIENT, composite_mp4, messages_left, notifying_bucket, send
from tests.paths import REAL

ROOM_UUID = "3f2c6a1e-8b4d-4e7f-9c0a-1d2e3f4a5b6c"


def test_whereby_names_its_recordings_after_the_room_and_the_second_they_started() -> None:
    name = whereby_recording(f"rec/stand-up-{ROOM_UUID}-2026-06-01T12:00:05Z.mp4")
    assert name is not None and name.room_name == f"/stand-up-{ROOM_UUID}"
    assert name.started_at == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
    assert whereby_recording("notes/readme.txt") is None
    assert whereby_recording("stand-up.mp4") is None


def test_a_notification_names_the_objects_created_with_their_keys_decoded() -> None:
    body = json.dumps({"Records": [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%C3%A9.mp4"}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "gone.mp4"}}},
    ]}).encode()  # fmt: skip
    assert created_objects(body) == [CreatedObject("b", "a bé.mp4")]
    assert created_objects(b'{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}') == []
    for unreadable in (b"not json", b"{}", b'{"Records": "no"}', b"[1]"):
        with pytest.raises(UnreadableNotification):
            created_objects(unreadable)


class Bucket:
    """The moto bucket Whereby writes to, the queue it notifies, and our poller of that queue."""

    def __init__(self, endpoint: str, services: Services) -> None:
        self.endpoint = endpoint
        self.name, self.queue_url = notifying_bucket(endpoint)
        self.queue = RecordingQueue(self.queue_url, endpoint_url=endpoint, access_key_id="testing",
                                    secret_access_key="testing")  # fmt: skip
        named: Callable[[str], Storage | None] = lambda name: S3Storage(  # noqa: E731
            bucket=name, endpoint_url=endpoint, access_key_id="testing", secret_access_key="testing"
        )
        self.recordings = RecordingService(services.transcripts, services.runs, {}, named)
        self.notices = RecordingNotices(self.queue, self.recordings, wait_s=1)

    def put(self, key: str, path: Path) -> None:
        boto3.client("s3", endpoint_url=self.endpoint, **CLIENT).upload_file(str(path), self.name, key)

    async def exists(self, key: str) -> bool:
        async with S3Storage(bucket=self.name, endpoint_url=self.endpoint, access_key_id="testing",
                             secret_access_key="testing") as store:  # fmt: skip
            return await store.exists(key)

    async def drain(self, within_s: float = 30) -> None:
        """Poll until no message is left on the queue, handed out or not."""
        deadline = time.monotonic() + within_s
        while messages_left(self.endpoint, self.queue_url):
            assert time.monotonic() < deadline, "messages are left on the queue"
            await self.notices.poll()


@pytest.fixture
async def bucket(clean: Services, s3_endpoint: str) -> AsyncIterator[Bucket]:  # noqa: F811
    made = Bucket(s3_endpoint, clean)
    yield made
    await made.queue.close()


async def whereby_meeting(services: Services, name: str, *, store_video: bool = False) -> MeetingView:
    room = await services.rooms.create("alice", RoomSettings(name=name, platform="whereby", store_video=store_video))
    return await rooms_table.insert_meeting({
        "room_id": room.id, "platform": "whereby", "room_name": f"/{room.name}-{ROOM_UUID}",
        "room_url": f"https://acme.whereby.com/{room.name}-{ROOM_UUID}", "host_room_url": "",
        "platform_id": "80531", "end_date": now() + timedelta(hours=1), "store_video": store_video,
    })  # fmt: skip


def record(meeting: MeetingView, at: str = "2026-06-01T12:00:05Z") -> str:
    return f"{meeting.room_name.lstrip('/')}-{at}.mp4"


async def test_a_recording_the_bucket_announces_becomes_a_diarized_run_of_its_meetings_transcript(
    clean: Services, bucket: Bucket, tmp_path: Path
) -> None:
    meeting = await whereby_meeting(clean, "Stand-up")
    mp4 = composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4")
    # Whatever else reaches the queue first: no JSON, no S3 notification, an object that is no recording,
    # a recording of a room we have no meeting for.
    send(bucket.endpoint, bucket.queue_url, "not json at all")
    send(bucket.endpoint, bucket.queue_url, json.dumps({"hello": "world"}))
    bucket.put("notes/readme.mp4", mp4)
    bucket.put(f"elsewhere-{ROOM_UUID}-2026-06-01T11:00:00Z.mp4", mp4)
    bucket.put(record(meeting), mp4)

    await bucket.drain()

    rows = await Recording.select().order_by(Recording.object_key)
    assert [(r["object_key"], r["status"]) for r in rows] == [
        (f"elsewhere-{ROOM_UUID}-2026-06-01T11:00:00Z.mp4", "ignored"),
        (record(meeting), "completed"),
    ]
    recording = rows[1]
    assert recording["meeting_id"] == meeting.id and recording["bucket_name"] == bucket.name
    assert recording["recorded_at"] == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
    assert recording["platform_recording_id"] == f"s3://{bucket.name}/{record(meeting)}"
    transcript = await clean.transcripts.get(recording["transcript_id"])
    assert (transcript.room_id, transcript.meeting_id, transcript.user_id) == (meeting.room_id, meeting.id, "alice")
    assert transcript.source_kind == "room" and transcript.status == "uploaded"
    assert transcript.name == "stand-up 2026-06-01 12:00 UTC"
    # The room does not store video: its sound alone is kept (not re-encoded), the composite leaves the bucket.
    upload = await clean.transcripts.upload_of(transcript.id)
    assert upload == f"transcripts/{transcript.id}/upload.mka"
    await clean.transcripts.storage.download(upload, tmp_path / "kept.mka")
    with av.open(str(tmp_path / "kept.mka")) as kept:
        assert [s.type for s in kept.streams] == ["audio"] and kept.streams.audio[0].codec_context.name == "aac"
    assert 10_500 < transcript.duration < 11_500  # all of it
    assert not await bucket.exists(record(meeting))
    [run] = await PipelineRun.select().where(PipelineRun.transcript_id == transcript.id).output(load_json=True)
    assert run["kind"] != "multitrack" and run["status"] == "queued"
    assert run["options"]["diarize"] is True  # the platform does not say who spoke


async def test_a_message_delivered_again_changes_nothing(clean: Services, bucket: Bucket, tmp_path: Path) -> None:
    meeting = await whereby_meeting(clean, "Stand-up")
    bucket.put(record(meeting), composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4"))
    await bucket.drain()
    [first] = await Recording.select(Recording.id, Recording.transcript_id)

    created = {"eventName": "ObjectCreated:Put",
               "s3": {"bucket": {"name": bucket.name}, "object": {"key": record(meeting)}}}  # fmt: skip
    for _ in range(2):  # SQS delivers at least once
        send(bucket.endpoint, bucket.queue_url, json.dumps({"Records": [created]}))
    await bucket.drain()

    assert await Recording.select(Recording.id, Recording.transcript_id) == [first]
    assert await PipelineRun.count() == 1


async def test_a_message_stays_on_the_queue_until_its_recording_is_kept(
    clean: Services, bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = await whereby_meeting(clean, "Stand-up")
    keep = bucket_recordings.repo.save_recording
    failures = []

    async def database_away_once(*args: object, **kwargs: object) -> str | None:
        if not failures:
            failures.append(args)
            raise ConnectionError("PostgreSQL is restarting")
        return await keep(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bucket_recordings.repo, "save_recording", database_away_once)
    bucket.put(record(meeting), composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4"))

    while not failures:
        await bucket.notices.poll()
    assert await Recording.count() == 0
    assert messages_left(bucket.endpoint, bucket.queue_url) == 1  # handed out, not deleted: it comes back
    await bucket.drain()  # after its visibility timeout (2 s)

    [row] = await Recording.select(Recording.meeting_id, Recording.status)
    assert row == {"meeting_id": meeting.id, "status": "completed"}


async def test_a_room_that_stores_video_keeps_the_whole_recording(
    clean: Services, bucket: Bucket, tmp_path: Path
) -> None:
    meeting = await whereby_meeting(clean, "Studio", store_video=True)
    bucket.put(record(meeting), composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4"))
    await bucket.drain()

    [row] = await Recording.select(Recording.transcript_id, Recording.status)
    assert row["status"] == "completed"
    upload = await clean.transcripts.upload_of(row["transcript_id"])
    assert upload.endswith("/upload.mp4")
    await clean.transcripts.storage.download(upload, tmp_path / "kept.mp4")
    with av.open(str(tmp_path / "kept.mp4")) as kept:
        assert sorted(s.type for s in kept.streams) == ["audio", "video"]
    assert await bucket.exists(record(meeting))


async def test_a_declined_consent_deletes_the_recording_from_the_bucket_whereby_wrote_it_to(
    clean: Services, bucket: Bucket, tmp_path: Path
) -> None:
    meeting = await whereby_meeting(clean, "Studio", store_video=True)
    await rooms_table.record_consent(meeting.id, "browser-1", None, False, now())
    bucket.put(record(meeting), composite_mp4(REAL / "jfk.flac", tmp_path / "call.mp4"))
    await bucket.drain()
    [row] = await Recording.select(Recording.id, Recording.transcript_id)
    assert await bucket.recordings.forget_declined(clean.storage) == []  # not processed yet: waits

    await transcripts_table.update(row["transcript_id"], {"status": "ended"})  # its run ended
    other_bucket = clean.storage  # the sweep's bucket (Daily's) is not where Whereby wrote it
    assert await bucket.recordings.forget_declined(other_bucket) == [row["id"]]

    assert not await bucket.exists(record(meeting))
    transcript = await clean.transcripts.get(row["transcript_id"])
    assert transcript.audio_deleted is True
    assert await clean.transcripts.storage.list_keys(f"transcripts/{transcript.id}/upload") == []


async def test_the_poller_marks_each_poll_for_the_metrics_last_run(clean: Services, bucket: Bucket) -> None:
    from reflector.domain.rooms.figures import mark_run, room_figures

    stopping = asyncio.Event()
    polls = 0

    async def ran() -> None:
        nonlocal polls
        polls += 1
        await mark_run(clean.redis, "recording_queue")
        if polls == 2:
            stopping.set()

    before = time.time()
    await asyncio.wait_for(bucket.notices.run(stopping, ran=ran), 30)
    assert polls == 2
    assert before <= (await room_figures(clean.redis)).last_runs["recording_queue"] <= time.time()
