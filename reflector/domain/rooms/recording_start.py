"""Recordings started by the server, never by an anonymous request: a Daily meeting of a room that records
(`recording_type` cloud) has its raw-tracks recording started by the meetings sweep once someone is in its
call (Daily refuses to record an empty room), with the meeting's id as Daily's `instanceId`. The recording
id Daily answers is kept at once as a `recording` row of the meeting (status `recording`), so the
`recording.ready-to-download` that names it lands on this meeting by that id (platform_events.py), and is
then `pending`.

One recording at a time per meeting: while one is `recording`, none is started. Daily ends a recording with
its call's session; people back in the same meeting later (the join grace) start a new one, and each
recording becomes its own transcript on the meeting. Daily's "already has an active stream" (a recording
started elsewhere) starts nothing. Daily's `recording.error` (which names the meeting by its instance id)
ends the one being made, so the next sweep starts another while people are still in the call. Only raw
tracks are recorded: they are what Reflector transcribes.
"""

from typing import Protocol, runtime_checkable

import structlog

from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.models import MeetingView, VideoPlatform

log = structlog.get_logger(__name__)


@runtime_checkable
class StartsRecordings(Protocol):
    """A platform whose recordings the server starts: the recording's id, None when one is running already."""

    async def start_recording(self, room_name: str, instance_id: str) -> str | None: ...


async def start_if_due(meeting: MeetingView, platform: VideoPlatform | None) -> str | None:
    """The meeting's recording started when it is due (see above); the platform's recording id, or None."""
    if meeting.recording_type != "cloud" or meeting.num_clients <= 0 or not meeting.is_active:
        return None
    if not isinstance(platform, StartsRecordings) or await repo.recording_in_progress(meeting.id):
        return None
    recording_id = await platform.start_recording(meeting.room_name, meeting.id)
    if recording_id is None:
        log.info("recording.already_running", meeting_id=meeting.id, room=meeting.room_name)
        return None
    await repo.recording_started(recording_id, meeting.id)
    log.info("recording.started", meeting_id=meeting.id, recording_id=recording_id, platform=meeting.platform)
    return recording_id
