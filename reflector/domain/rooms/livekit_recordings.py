"""A LiveKit meeting's recording, gathered from LiveKit's webhooks: the room records each published track on
its own (auto track egress), so no one event says the recording is complete. One `recording` row per
LiveKit room (`livekit:{room name}`, so one per meeting) collects, in its `platform_state`:

- each track egress: started (`egress_started`), then ended with the file it wrote and when that file's
  first sample was recorded (`egress_ended`; one that failed wrote nothing);
- the participants' names by identity (`participant_joined`: the identities name the tracks' files);
- the room's end (`room_finished`).

It stays `recording` until the room has finished and every egress that started has ended, then becomes
`pending` with the files written as its tracks (recordings.py processes it as Daily's raw tracks, each
track placed on the timeline by when it started), or `ignored` when nothing was written. Each event is
applied under the row's lock, so events arriving together, or in any order, gather the same recording;
one arriving after the recording is complete changes nothing more.
"""

from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog

from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.models import MeetingView

log = structlog.get_logger(__name__)


class TrackEgress(msgspec.Struct, frozen=True):
    """A participant's track started (or finished) being written to our bucket (LiveKit's track egress)."""

    room_name: str
    egress_id: str
    ended: bool
    key: str = ""  # the file written, once ended ("": it failed, nothing written)
    started_ms: int = 0  # when the file's first sample was recorded (unix ms)


class RoomFinished(msgspec.Struct, frozen=True):
    """The platform closed its room: nothing more is recorded in it."""

    room_name: str


class EgressFile(msgspec.Struct):
    ended: bool = False
    key: str = ""  # "": not written (yet, or the egress failed)
    started_ms: int = 0


class LiveKitGathering(msgspec.Struct):
    egresses: dict[str, EgressFile] = {}
    names: dict[str, str] = {}  # identity -> name
    finished: bool = False

    def complete(self) -> bool:
        return self.finished and all(egress.ended for egress in self.egresses.values())

    def written(self) -> dict[str, int]:
        """Each file written -> when it started (unix ms)."""
        return {e.key: e.started_ms for e in self.egresses.values() if e.ended and e.key}


def recording_id(room_name: str) -> str:
    return f"livekit:{room_name}"


def state_of(platform_state: object) -> LiveKitGathering:
    return msgspec.convert(platform_state or {}, LiveKitGathering)


async def name_participant(meeting: MeetingView, identity: str, name: str) -> None:
    """Someone joined the meeting's LiveKit room as `identity` under `name`."""
    state, row_id, status = await _locked(meeting)
    if status != "recording":
        return
    state.names[identity] = name
    await repo.update_recording(row_id, {"platform_state": msgspec.to_builtins(state)})


async def gather(platform: str, change: TrackEgress | RoomFinished) -> Literal["processed", "ignored", "unmatched"]:
    """One more thing LiveKit told of the meeting's recording, kept; the recording made `pending` (or
    `ignored`) once complete."""
    meeting = await repo.meeting_on_platform(platform, room_name=change.room_name, platform_id=None)
    if meeting is None:
        log.warning("recording.unmatched", platform=platform, room=change.room_name)
        return "unmatched"
    state, row_id, status = await _locked(meeting)
    if status != "recording":
        log.info("recording.late_event", recording_id=row_id, status=status, change=type(change).__name__)
        return "ignored"
    if isinstance(change, TrackEgress):
        egress = state.egresses.setdefault(change.egress_id, EgressFile())
        if change.ended:
            egress.ended, egress.key, egress.started_ms = True, change.key, change.started_ms
    else:
        state.finished = True
    values: dict[str, object] = {"platform_state": msgspec.to_builtins(state)}
    if state.complete():
        written = state.written()
        keys = sorted(written, key=lambda key: (written[key], key))
        values["status"] = "pending" if keys else "ignored"
        values["track_keys"] = keys
        if keys:
            values["object_key"] = keys[0].rpartition("/")[0]
            values["recorded_at"] = datetime.fromtimestamp(min(written.values()) / 1000, UTC)
        log.info("recording.ready", platform=platform, recording_id=row_id, tracks=len(keys), meeting_id=meeting.id)
    await repo.update_recording(row_id, values)
    return "processed"


async def _locked(meeting: MeetingView) -> tuple[LiveKitGathering, str, str]:
    """The meeting's LiveKit recording (made if it is the first word of it), locked until the transaction
    ends: its gathered state, id and status."""
    row = await repo.lock_recording(recording_id(meeting.room_name), meeting.id)
    return state_of(row["platform_state"]), row["id"], row["status"]
