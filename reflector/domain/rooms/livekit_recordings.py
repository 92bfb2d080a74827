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
one arriving after the recording is complete changes nothing more. An egress whose end is never told (its
webhook lost, the egress dead) holds the recording for EGRESS_WAIT_S after the room finished at most: the
workers' sweep then completes it with the files written (`settle_overdue`).
"""

import time
from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog

from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.models import MeetingView

log = structlog.get_logger(__name__)

# How long after its room finished a recording waits for egresses whose end LiveKit has not told.
EGRESS_WAIT_S = 15 * 60


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
    finished_ms: int = 0  # when we heard the room finished (unix ms)

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
        state.finished, state.finished_ms = True, state.finished_ms or int(time.time() * 1000)
    await _save(row_id, state, complete=state.complete())
    return "processed"


async def settle_overdue(wait_s: float = EGRESS_WAIT_S) -> list[str]:
    """Recordings whose room finished more than `wait_s` ago but an egress's end was never told: completed
    with the files written (the workers' sweep). Their ids."""
    settled = []
    due_ms = (time.time() - wait_s) * 1000
    for row_id, platform_id, meeting_id in await repo.recordings_being_made("livekit:"):
        async with repo.transaction():
            row = await repo.lock_recording(platform_id, meeting_id)
            state = state_of(row["platform_state"])
            if row["status"] != "recording" or not state.finished or state.finished_ms > due_ms:
                continue
            unended = [egress_id for egress_id, egress in state.egresses.items() if not egress.ended]
            log.warning("recording.egress_lost", recording_id=row_id, egresses=unended)
            await _save(row_id, state, complete=True)
        settled.append(row_id)
    return settled


async def _save(row_id: str, state: LiveKitGathering, *, complete: bool) -> None:
    """The gathered state kept; `complete`: the recording made `pending` with the files written as its tracks
    (`ignored` when none was)."""
    values: dict[str, object] = {"platform_state": msgspec.to_builtins(state)}
    if complete:
        written = state.written()
        keys = sorted(written, key=lambda key: (written[key], key))
        values["status"] = "pending" if keys else "ignored"
        values["track_keys"] = keys
        if keys:
            values["object_key"] = keys[0].rpartition("/")[0]
            values["recorded_at"] = datetime.fromtimestamp(min(written.values()) / 1000, UTC)
        log.info("recording.ready", platform="livekit", recording_id=row_id, tracks=len(keys))
    await repo.update_recording(row_id, values)


async def _locked(meeting: MeetingView) -> tuple[LiveKitGathering, str, str]:
    """The meeting's LiveKit recording (made if it is the first word of it), locked until the transaction
    ends: its gathered state, id and status."""
    row = await repo.lock_recording(recording_id(meeting.room_name), meeting.id)
    return state_of(row["platform_state"]), row["id"], row["status"]
