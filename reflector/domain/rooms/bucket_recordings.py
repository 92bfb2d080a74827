"""Recordings a platform writes to a bucket as one file, announced by the bucket: Whereby's cloud recording
is an MP4 written to our bucket as `{room name}-{YYYY-MM-DDTHH:MM:SSZ}.mp4`, and the bucket's event
notifications (s3:ObjectCreated) go to an SQS queue that the workers poll.

One message, as SQS hands it out:
- each object it says was created and whose name is a Whereby recording's becomes a `recording` row keyed
  by `s3://{bucket}/{key}`, on the Whereby meeting of that room name (never the meeting closest in time);
  an object of a room we have no meeting for is kept unmatched (ignored when processed, with the reason
  logged), an object of any other name is logged and skipped;
- the message is deleted once every recording it announced is kept (PostgreSQL): until then it stays on
  the queue and comes back after its visibility timeout. The recordings are then taken up at once (a
  transcript, the file copied in, a diarized run queued: recordings.py), or by the workers' sweep if that
  fails;
- a message delivered twice (SQS delivers at least once) finds its recordings kept: nothing new happens;
- S3's `s3:TestEvent`, and a message that is not an S3 notification at all, are deleted (logged): they will
  read no better next time, and left there they would come back forever.
"""

import asyncio
import hashlib
import posixpath
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import unquote_plus

import msgspec
import structlog

from reflector.domain.errors import DomainError
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.recordings import RecordingService

log = structlog.get_logger(__name__)

# Whereby's name for its recording of a room: the room's name (its leading "/" dropped), a dash, the UTC
# second it started, the format's extension.
WHEREBY_KEY = re.compile(r"^(?P<room>.+)-(?P<at>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)\.\w+$")
# A polling worker rests this long after the queue could not be read, so a queue away is not hammered.
RETRY_S = 5.0


class QueueMessage(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def receipt(self) -> str: ...
    @property
    def body(self) -> bytes: ...


class NotificationQueue(Protocol):
    """The queue a bucket notifies: SQS (reflector.adapters.recording_queue)."""

    async def receive(self, *, max_messages: int = 10, wait_s: float = 20) -> list[QueueMessage]: ...

    async def delete(self, receipt: str) -> None: ...

    async def close(self) -> None: ...


class CreatedObject(msgspec.Struct, frozen=True):
    bucket: str
    key: str


class _Bucket(msgspec.Struct, frozen=True):
    name: str


class _Object(msgspec.Struct, frozen=True):
    key: str


class _S3(msgspec.Struct, frozen=True):
    bucket: _Bucket
    object: _Object


class _Record(msgspec.Struct, frozen=True, rename="camel"):
    event_name: str
    s3: _S3 | None = None


class _Notification(msgspec.Struct, frozen=True, rename={"records": "Records", "event": "Event"}):
    records: list[_Record] = []
    event: str | None = None  # "s3:TestEvent": S3 checking it can write to the queue


class UnreadableNotification(DomainError):
    """A message that is not an S3 event notification (400: what sent it is wrong)."""


def created_objects(body: bytes) -> list[CreatedObject]:
    """The objects an S3 event notification says were created (keys URL-decoded, as S3 encodes them);
    none for S3's test event and for other events."""
    try:
        notification = msgspec.json.decode(body, type=_Notification)
    except msgspec.DecodeError as exc:
        raise UnreadableNotification(str(exc)) from None
    if notification.event is None and not notification.records:
        raise UnreadableNotification("neither Records nor Event")
    return [
        CreatedObject(record.s3.bucket.name, unquote_plus(record.s3.object.key))
        for record in notification.records
        if record.event_name.startswith("ObjectCreated") and record.s3 is not None
    ]


class WherebyRecordingName(msgspec.Struct, frozen=True):
    room_name: str  # as Whereby names the room in its meeting: with its leading "/"
    started_at: datetime


def whereby_recording(key: str) -> WherebyRecordingName | None:
    """What Whereby's object name says of its recording; None for an object of another name."""
    match = WHEREBY_KEY.match(posixpath.basename(key))
    if match is None:
        return None
    at = datetime.fromisoformat(match["at"].replace("Z", "+00:00")).astimezone(UTC)
    return WherebyRecordingName("/" + match["room"].lstrip("/"), at)


def recording_id_of(created: CreatedObject) -> str:
    """The recording's id among the platforms' ids: its object's address (hashed when too long to keep)."""
    address = f"s3://{created.bucket}/{created.key}"
    return address if len(address) <= 255 else "s3-sha256:" + hashlib.sha256(address.encode()).hexdigest()


async def keep_recording(created: CreatedObject) -> str | None:
    """The object kept as a pending recording of its Whereby meeting (the recording's id), or None when it
    is no Whereby recording. Kept twice, it is one recording."""
    name = whereby_recording(created.key)
    if name is None:
        log.info("recording_queue.not_a_recording", bucket=created.bucket, key=created.key)
        return None
    meeting = await repo.meeting_on_platform("whereby", room_name=name.room_name, platform_id=None)
    platform_id = recording_id_of(created)
    meeting_id = await repo.save_recording(
        platform_id, meeting.id if meeting else None, created.key, None, name.started_at, bucket_name=created.bucket
    )
    if meeting_id is None:
        log.warning("recording.unmatched", platform="whereby", key=created.key, room=name.room_name)
    return await repo.recording_id_of(platform_id)


class RecordingNotices:
    """Reads the recordings bucket's notifications and makes what they announce into recordings."""

    def __init__(self, queue: NotificationQueue, recordings: RecordingService, wait_s: float = 20) -> None:
        self._queue = queue
        self._recordings = recordings
        self._wait_s = wait_s

    async def poll(self) -> int:
        """One poll of the queue: its messages (waiting up to wait_s for one) handled; how many."""
        messages = await self._queue.receive(wait_s=self._wait_s)
        for message in messages:
            try:
                await self.handle(message)
            except Exception as exc:  # PostgreSQL away: this message comes back, the others go on
                log.warning("recording_queue.message_failed", message_id=message.message_id, error=str(exc))
        return len(messages)

    async def handle(self, message: QueueMessage) -> list[str]:
        """The recordings the message announced, kept, the message deleted, then each taken up; their ids.
        A failure to keep them leaves the message for redelivery (and raises)."""
        try:
            objects = created_objects(message.body)
        except UnreadableNotification as exc:
            log.warning("recording_queue.unreadable", message_id=message.message_id, problem=str(exc))
            await self._queue.delete(message.receipt)
            return []
        kept = [recording_id for created in objects if (recording_id := await keep_recording(created))]
        await self._queue.delete(message.receipt)
        log.info("recording_queue.message", message_id=message.message_id, objects=len(objects), kept=len(kept))
        for recording_id in kept:
            try:
                await self._recordings.process(recording_id)
            except Exception as exc:  # logged and marked by process(); the sweep retries a failed one
                log.info("recording_queue.not_processed_now", recording_id=recording_id, error=str(exc))
        return kept

    async def run(
        self, stopping: asyncio.Event | None = None, ran: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Poll until cancelled (or `stopping` is set); a queue that cannot be read is tried again shortly.
        `ran` is told after each poll that went through (the last-run figure in /metrics)."""
        try:
            while stopping is None or not stopping.is_set():
                try:
                    await self.poll()
                    if ran is not None:
                        await ran()
                except Exception as exc:  # SQS or PostgreSQL away: the messages stay on the queue
                    log.warning("recording_queue.poll_failed", error=str(exc))
                    await asyncio.sleep(RETRY_S)
        finally:
            await self._queue.close()
