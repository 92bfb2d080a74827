"""What the video platforms tell us about meetings, through their webhooks: who is in a meeting's room, and
which recording of it is ready. The web layer verifies an event's signature and reads it (platform by
platform, in reflector.platform_binding); here each authentic event is stored as received and processed once
by its id, in one transaction, so a redelivery or a replay inside the signature's window changes nothing.

- Presence: the platform's own count when it gives one (Whereby's `numClients`), else a count asked of the
  platform now (Daily's presence, LiveKit's participants: a webhook that arrives late or twice cannot make
  it wrong), else one more or one fewer than before.
- A recording ready: a `recording` row keyed by the platform's recording id, on the meeting the recording
  was started for (when a row from its start exists) or the meeting whose platform room it recorded; never
  the meeting closest in time. It stays `pending`: processing it is another step's.
- LiveKit records each track on its own: its egresses, the room's end and who joined under which name
  are gathered on one recording of the meeting, `pending` once complete (livekit_recordings.py).
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec
import structlog

from reflector.domain.rooms import livekit_recordings
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.livekit_recordings import RoomFinished, TrackEgress
from reflector.domain.rooms.models import Platform, VideoPlatform
from reflector.domain.rooms.tables import PlatformEvent

log = structlog.get_logger(__name__)

Outcome = Literal["processed", "ignored", "unreadable", "unmatched", "duplicate"]


class PresenceChange(msgspec.Struct, frozen=True):
    """Someone joined (or left) a meeting's room on its platform."""

    joined: bool
    room_name: str | None = None  # the platform's room (Daily, LiveKit)
    platform_id: str | None = None  # the platform's meeting id (Whereby)
    num_clients: int | None = None  # the count the platform sent, when it sent one
    participant_id: str | None = None  # who (LiveKit: the identity their tracks are named after)
    participant_name: str | None = None  # the name they joined with


class RecordingReady(msgspec.Struct, frozen=True):
    """A recording the platform finished writing: one file, or one track per participant."""

    recording_id: str
    room_name: str
    object_key: str = ""
    track_keys: list[str] | None = None
    started_at: datetime | None = None


class RecordingFailed(msgspec.Struct, frozen=True):
    """The platform could not record (Daily's `recording.error`): the recording started for `instance_id`
    (a meeting's id, as the server starts them: recording_start.py) is no longer being made."""

    instance_id: str
    room_name: str = ""
    reason: str = ""


class ReceivedEvent(msgspec.Struct, frozen=True):
    """An authentic webhook: its id (or the body's hash), its type, the bytes as received, and what it means
    to us (None: a type we do not handle; `problem`: signed, but we could not read it)."""

    platform: Platform
    event_id: str
    event_type: str
    body: bytes
    change: PresenceChange | RecordingReady | RecordingFailed | TrackEgress | RoomFinished | None = None
    problem: str | None = None


@runtime_checkable
class CountsPresence(Protocol):
    """A platform that can say how many people are in one of its rooms now."""

    async def present(self, room_name: str) -> int: ...


async def receive(event: ReceivedEvent, platforms: Mapping[str, VideoPlatform]) -> Outcome:
    """Store the event and act on it, once per (platform, event id)."""
    async with PlatformEvent._meta.db.transaction():
        if not await repo.store_platform_event(event.platform, event.event_id, event.event_type, event.body):
            log.info("platform_event.duplicate", platform=event.platform, event_id=event.event_id)
            return "duplicate"
        outcome: Outcome
        if event.problem is not None:
            outcome = "unreadable"
        elif isinstance(event.change, PresenceChange):
            outcome = await _presence(event.platform, event.change, platforms.get(event.platform))
        elif isinstance(event.change, RecordingReady):
            outcome = await _recording(event.platform, event.change)
        elif isinstance(event.change, RecordingFailed):
            outcome = await _recording_failed(event.platform, event.change)
        elif isinstance(event.change, TrackEgress | RoomFinished):
            outcome = await livekit_recordings.gather(event.platform, event.change)
        else:
            outcome = "ignored"
        await repo.platform_event_outcome(event.platform, event.event_id, outcome)
    log.info(
        "platform_event.received",
        platform=event.platform,
        event_id=event.event_id,
        type=event.event_type,
        outcome=outcome,
        problem=event.problem,
    )
    return outcome


async def _presence(platform: str, change: PresenceChange, client: VideoPlatform | None) -> Outcome:
    meeting = await repo.meeting_on_platform(platform, room_name=change.room_name, platform_id=change.platform_id)
    if meeting is None:
        return "unmatched"
    count = change.num_clients
    if count is None and isinstance(client, CountsPresence):
        try:
            count = await client.present(meeting.room_name)
        except Exception as exc:  # the platform away: the event still moves the count by one
            log.warning("meeting.presence_unknown", meeting_id=meeting.id, platform=platform, error=str(exc))
    await repo.set_clients(meeting.id, count=count, delta=1 if change.joined else -1)
    if change.joined and change.participant_id and change.participant_name and platform == "livekit":
        await livekit_recordings.name_participant(meeting, change.participant_id, change.participant_name)
    return "processed"


async def _recording(platform: str, ready: RecordingReady) -> Outcome:
    meeting = await repo.meeting_on_platform(platform, room_name=ready.room_name, platform_id=None)
    at = ready.started_at or datetime.now(UTC)
    meeting_id = await repo.save_recording(
        ready.recording_id, meeting.id if meeting else None, ready.object_key, ready.track_keys, at
    )
    if meeting_id is None:
        log.warning("recording.unmatched", platform=platform, recording_id=ready.recording_id, room=ready.room_name)
        return "unmatched"
    log.info("recording.ready", platform=platform, recording_id=ready.recording_id, meeting_id=meeting_id)
    return "processed"


async def _recording_failed(platform: str, failed: RecordingFailed) -> Outcome:
    """The meeting's recording being made is over: a new one may be started for it (a late ready webhook
    of this one still lands on it)."""
    stopped = await repo.recording_stopped(failed.instance_id)
    log.warning("recording.error", platform=platform, meeting_id=failed.instance_id, reason=failed.reason, rows=stopped)
    return "processed" if stopped else "unmatched"
