"""SQL for the rooms module (piccolo). Returns Structs, takes plain values."""

from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec

from reflector.domain.ids import new_id, now
from reflector.domain.rooms.calendar import CalendarEventView
from reflector.domain.rooms.models import ConsentView, MeetingView, RecordingView, RoomNameTaken, RoomView
from reflector.domain.rooms.tables import CalendarEvent, Meeting, MeetingConsent, PlatformEvent, Recording, Room

_ROOM_COLUMNS = [getattr(Room, name) for name in RoomView.__struct_fields__]
_MEETING_COLUMNS = [getattr(Meeting, name) for name in MeetingView.__struct_fields__]


def _room(row: dict[str, Any]) -> RoomView:
    events = row.get("webhook_events")
    if isinstance(events, str):  # JSONB, as piccolo returns it unless told to load it
        row = {**row, "webhook_events": msgspec.json.decode(events)}
    return msgspec.convert(row, RoomView)


def _meeting(row: dict[str, Any]) -> MeetingView:
    return msgspec.convert(row, MeetingView)


async def insert_room(values: dict[str, Any]) -> RoomView:
    row = Room(**values)
    try:
        await row.save()
    except asyncpg.UniqueViolationError:
        raise RoomNameTaken(values["name"]) from None
    room = await get_room(row.id)
    assert room is not None
    return room


async def get_room(room_id: str) -> RoomView | None:
    row = await Room.select(*_ROOM_COLUMNS).where(Room.id == room_id).first()
    return _room(row) if row else None


async def room_named(name: str) -> RoomView | None:
    row = await Room.select(*_ROOM_COLUMNS).where(Room.name == name).first()
    return _room(row) if row else None


async def page_of_rooms(*, user_id: str | None, everything: bool, page: int, size: int) -> tuple[list[RoomView], int]:
    """Newest first: every room (`everything`), else the user's own and the shared ones (no user: shared)."""
    where = None
    if not everything:
        where = Room.is_shared.eq(True)
        if user_id is not None:
            where = where | (Room.user_id == user_id)
    query = Room.select(*_ROOM_COLUMNS).order_by(Room.created_at, ascending=False).limit(size).offset((page - 1) * size)
    count = Room.count()
    if where is not None:
        query = query.where(where)
        count = count.where(where)
    return [_room(row) for row in await query], await count


async def update_room(room_id: str, values: dict[str, Any]) -> None:
    try:
        await Room.update({getattr(Room, k): v for k, v in values.items()}).where(Room.id == room_id)
    except asyncpg.UniqueViolationError:
        raise RoomNameTaken(values["name"]) from None


async def delete_room(room_id: str) -> None:
    await Room.delete().where(Room.id == room_id)


async def insert_meeting(values: dict[str, Any]) -> MeetingView:
    row = Meeting(**values)
    await row.save()
    meeting = await get_meeting(row.id)
    assert meeting is not None
    return meeting


async def get_meeting(meeting_id: str) -> MeetingView | None:
    row = await Meeting.select(*_MEETING_COLUMNS).where(Meeting.id == meeting_id).output(load_json=True).first()
    return _meeting(row) if row else None


async def active_meetings(room_id: str, at: datetime) -> list[MeetingView]:
    """The room's active meetings that have not ended by `at`, the latest end first."""
    rows = (
        await Meeting.select(*_MEETING_COLUMNS)
        .where((Meeting.room_id == room_id) & Meeting.is_active.eq(True) & (Meeting.end_date > at))
        .order_by(Meeting.end_date, ascending=False)
        .output(load_json=True)
    )
    return [_meeting(row) for row in rows]


async def update_meeting(meeting_id: str, values: dict[str, Any]) -> None:
    await Meeting.update({getattr(Meeting, k): v for k, v in values.items()}).where(Meeting.id == meeting_id)


async def record_consent(
    meeting_id: str, participant_key: str, user_id: str | None, given: bool, at: datetime
) -> ConsentView:
    """One answer per participant and meeting: a second replaces the first ((meeting_id, participant_key) is
    unique)."""
    rows = await MeetingConsent.raw(
        "INSERT INTO meeting_consent (id, meeting_id, participant_key, user_id, consent_given, consent_timestamp) "
        "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (meeting_id, participant_key) DO UPDATE SET "
        "consent_given = EXCLUDED.consent_given, consent_timestamp = EXCLUDED.consent_timestamp "
        "RETURNING id, meeting_id, user_id, consent_given, consent_timestamp",
        new_id(),
        meeting_id,
        participant_key,
        user_id,
        given,
        at,
    )
    return msgspec.convert(rows[0], ConsentView)


async def consent_of(meeting_id: str, participant_key: str) -> ConsentView | None:
    """This participant's answer in this meeting, if they gave one."""
    row = (
        await MeetingConsent.select(
            MeetingConsent.id,
            MeetingConsent.meeting_id,
            MeetingConsent.user_id,
            MeetingConsent.consent_given,
            MeetingConsent.consent_timestamp,
        )
        .where((MeetingConsent.meeting_id == meeting_id) & (MeetingConsent.participant_key == participant_key))
        .first()
    )
    return msgspec.convert(row, ConsentView) if row else None


async def recordings_to_forget() -> list[RecordingView]:
    """The recordings whose media are still kept of meetings in which someone declined to be recorded (one
    query, driven by the few declined answers and the recordings' meeting index)."""
    columns = ", ".join(f"r.{name}" for name in RecordingView.__struct_fields__)
    rows = await Recording.raw(
        f"SELECT {columns} FROM recording r WHERE r.media_deleted_at IS NULL AND r.meeting_id IN "
        "(SELECT meeting_id FROM meeting_consent WHERE consent_given = false) ORDER BY r.recorded_at"
    )
    for row in rows:  # raw SQL leaves JSONB as its text
        if isinstance(row["track_keys"], str):
            row["track_keys"] = msgspec.json.decode(row["track_keys"])
    return [msgspec.convert(row, RecordingView) for row in rows]


# ---- what the video platforms told us (platform_events.py) ----


async def store_platform_event(platform: str, event_id: str, event_type: str, body: bytes) -> bool:
    """Keep the event as received; False when this platform's event of that id was stored before."""
    rows = await PlatformEvent.raw(
        "INSERT INTO platform_event (id, platform, event_id, event_type, body, outcome, received_at) "
        "VALUES ({}, {}, {}, {}, {}, 'received', {}) ON CONFLICT (platform, event_id) DO NOTHING RETURNING id",
        new_id(),
        platform,
        event_id,
        event_type[:64],
        body,
        now(),
    )
    return bool(rows)


async def platform_event_outcome(platform: str, event_id: str, outcome: str) -> None:
    await PlatformEvent.update({PlatformEvent.outcome: outcome}).where(
        (PlatformEvent.platform == platform) & (PlatformEvent.event_id == event_id)
    )


async def meeting_on_platform(platform: str, *, room_name: str | None, platform_id: str | None) -> MeetingView | None:
    """The meeting a platform names by its room (Daily, LiveKit) or its meeting id (Whereby); the latest."""
    where = Meeting.platform == platform
    where = where & (Meeting.platform_id == platform_id if platform_id is not None else Meeting.room_name == room_name)
    row = (
        await Meeting.select(*_MEETING_COLUMNS)
        .where(where)
        .order_by(Meeting.start_date, ascending=False)
        .output(load_json=True)
        .first()
    )
    return _meeting(row) if row else None


async def set_clients(meeting_id: str, *, count: int | None, delta: int, at: datetime | None = None) -> None:
    """The number of people in the meeting: as the platform counted it, else moved by `delta` (never < 0).
    A meeting becoming empty keeps since when (`empty_since`); one with anyone in it has none."""
    at = at or now()
    clients = "GREATEST({}, 0)" if count is not None else "GREATEST(num_clients + {}, 0)"
    await Meeting.raw(
        f"UPDATE meeting SET num_clients = {clients}, "
        f"empty_since = CASE WHEN {clients} > 0 THEN NULL ELSE COALESCE(empty_since, {{}}) END WHERE id = {{}}",
        count if count is not None else delta,
        count if count is not None else delta,
        at,
        meeting_id,
    )


async def open_meetings(room_id: str) -> list[MeetingView]:
    """The room's active meetings, ended or not, the latest end first (lifecycle.py says which is reusable)."""
    rows = (
        await Meeting.select(*_MEETING_COLUMNS)
        .where((Meeting.room_id == room_id) & Meeting.is_active.eq(True))
        .order_by(Meeting.end_date, ascending=False)
        .output(load_json=True)
    )
    return [_meeting(row) for row in rows]


async def every_active_meeting() -> list[MeetingView]:
    """Every active meeting of every room, the oldest first (what the periodic sweep looks at)."""
    rows = (
        await Meeting.select(*_MEETING_COLUMNS)
        .where(Meeting.is_active.eq(True))
        .order_by(Meeting.start_date)
        .output(load_json=True)
    )
    return [_meeting(row) for row in rows]


async def someone_joining(meeting_id: str, at: datetime) -> None:
    """Someone was sent into the meeting: an empty one counts as empty from now, so the sweep leaves them
    the join grace to arrive on the platform."""
    await Meeting.update({Meeting.empty_since: at}).where(
        (Meeting.id == meeting_id) & Meeting.empty_since.is_not_null()
    )


async def save_recording(
    platform_recording_id: str,
    meeting_id: str | None,
    object_key: str,
    track_keys: list[str] | None,
    at: datetime,
    *,
    bucket_name: str = "",
) -> str | None:
    """Insert the recording by the platform's id, or complete the one started earlier (its meeting kept);
    the meeting it ended up on. `bucket_name`: the bucket its objects are in ("": the platform's own)."""
    rows = await Recording.raw(
        "INSERT INTO recording (id, meeting_id, platform_recording_id, bucket_name, object_key, track_keys, "
        "recorded_at, status) VALUES ({}, {}, {}, {}, {}, {}::jsonb, {}, 'pending') "
        "ON CONFLICT (platform_recording_id) DO UPDATE SET "
        "object_key = EXCLUDED.object_key, track_keys = EXCLUDED.track_keys, bucket_name = EXCLUDED.bucket_name, "
        "meeting_id = COALESCE(recording.meeting_id, EXCLUDED.meeting_id), "
        "status = CASE WHEN recording.status = 'recording' OR (recording.status = 'ignored' "
        "AND recording.transcript_id IS NULL AND EXCLUDED.track_keys IS NOT NULL) THEN 'pending' "
        "ELSE recording.status END "
        "RETURNING meeting_id",
        new_id(),
        meeting_id,
        platform_recording_id,
        bucket_name,
        object_key,
        None if track_keys is None else msgspec.json.encode(track_keys).decode(),
        at,
    )
    return rows[0]["meeting_id"] if rows else None


async def recording_started(platform_recording_id: str, meeting_id: str) -> None:
    """A recording the server started on the platform: kept on its meeting (`recording`) until it is ready."""
    await Recording.raw(
        "INSERT INTO recording (id, meeting_id, platform_recording_id, status) VALUES ({}, {}, {}, 'recording') "
        "ON CONFLICT (platform_recording_id) DO NOTHING",
        new_id(),
        meeting_id,
        platform_recording_id,
    )


async def recording_stopped(meeting_id: str) -> int:
    """The meeting's recordings being made, no longer (`ignored` until a ready webhook says otherwise); how many."""
    rows = await Recording.raw(
        "UPDATE recording SET status = 'ignored' WHERE meeting_id = {} AND status = 'recording' RETURNING id",
        meeting_id,
    )
    return len(rows)


def transaction() -> Any:
    """A transaction on the rooms' tables (what `lock_recording` holds its lock for)."""
    return Recording._meta.db.transaction()


async def recordings_being_made(platform_prefix: str) -> list[tuple[str, str, str | None]]:
    """(id, platform's id, meeting id) of the recordings still being made whose platform id starts with
    `platform_prefix`."""
    rows = await Recording.select(Recording.id, Recording.platform_recording_id, Recording.meeting_id).where(
        (Recording.status == "recording") & Recording.platform_recording_id.like(platform_prefix + "%")
    )
    return [(r["id"], r["platform_recording_id"], r["meeting_id"]) for r in rows]


async def recording_in_progress(meeting_id: str) -> bool:
    """Whether a recording of the meeting is still being made."""
    return await Recording.exists().where((Recording.meeting_id == meeting_id) & (Recording.status == "recording"))


async def lock_recording(platform_recording_id: str, meeting_id: str | None) -> dict[str, Any]:
    """The recording the platform knows by `platform_recording_id`, made (`recording`, on the meeting) if
    new, its row locked until the transaction ends: its id, status and platform_state."""
    await Recording.raw(
        "INSERT INTO recording (id, meeting_id, platform_recording_id, status) VALUES ({}, {}, {}, 'recording') "
        "ON CONFLICT (platform_recording_id) DO NOTHING",
        new_id(),
        meeting_id,
        platform_recording_id,
    )
    [row] = await Recording.raw(
        "SELECT id, status, platform_state FROM recording WHERE platform_recording_id = {} FOR UPDATE",
        platform_recording_id,
    )
    state = row["platform_state"]
    return {**row, "platform_state": msgspec.json.decode(state) if isinstance(state, str | bytes) else state}


async def recording_id_of(platform_recording_id: str) -> str | None:
    """Our id of the recording the platform knows by `platform_recording_id`."""
    row = await Recording.select(Recording.id).where(Recording.platform_recording_id == platform_recording_id).first()
    return row["id"] if row else None


# ---- recordings made into transcripts (recordings.py) ----

_RECORDING_COLUMNS = [getattr(Recording, name) for name in RecordingView.__struct_fields__]


async def get_recording(recording_id: str) -> RecordingView | None:
    row = await Recording.select(*_RECORDING_COLUMNS).where(Recording.id == recording_id).output(load_json=True).first()
    return msgspec.convert(row, RecordingView) if row else None


async def claim_recording(recording_id: str, stale_after_s: float) -> RecordingView | None:
    """The recording, now `processing`, when it was pending, failed, or left processing for longer than
    `stale_after_s` (whoever took it died); None when another has it."""
    rows = await Recording.raw(
        "UPDATE recording SET status = 'processing', claimed_at = now() WHERE id = {} AND deleted_at IS NULL "
        "AND (status IN ('pending', 'failed') OR (status = 'processing' AND (claimed_at IS NULL "
        "OR claimed_at < now() - make_interval(secs => {})))) RETURNING id",
        recording_id,
        stale_after_s,
    )
    return await get_recording(recording_id) if rows else None


async def update_recording(recording_id: str, values: dict[str, Any]) -> None:
    await Recording.update({getattr(Recording, k): v for k, v in values.items()}).where(Recording.id == recording_id)


async def recordings_of_transcript(transcript_id: str) -> list[RecordingView]:
    """The recordings the transcript was made of (usually one), their media deleted or not."""
    rows = (
        await Recording.select(*_RECORDING_COLUMNS)
        .where(Recording.transcript_id == transcript_id)
        .output(load_json=True)
    )
    return [msgspec.convert(row, RecordingView) for row in rows]


async def recordings_with_status(status: str) -> list[str]:
    """Ids of the recordings in `status`, the oldest first."""
    rows = (
        await Recording.select(Recording.id)
        .where((Recording.status == status) & Recording.deleted_at.is_null())
        .order_by(Recording.recorded_at)
    )
    return [row["id"] for row in rows]


async def stale_processing_recordings(stale_after_s: float) -> list[str]:
    """Ids of the recordings left `processing` for longer than `stale_after_s`, the oldest first."""
    rows = await Recording.raw(
        "SELECT id FROM recording WHERE status = 'processing' AND deleted_at IS NULL "
        "AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => {})) ORDER BY recorded_at",
        stale_after_s,
    )
    return [row["id"] for row in rows]


# ---- a room's calendar (calendar_sync.py) ----

_EVENT_COLUMNS = [
    CalendarEvent.id,
    CalendarEvent.room_id,
    CalendarEvent.ics_uid,
    CalendarEvent.recurrence_id,
    CalendarEvent.title,
    CalendarEvent.description,
    CalendarEvent.start_time,
    CalendarEvent.end_time,
    CalendarEvent.attendees,
    CalendarEvent.location,
    CalendarEvent.last_synced,
    CalendarEvent.is_deleted,
    CalendarEvent.created_at,
    CalendarEvent.updated_at,
]


def _event(row: dict[str, Any]) -> CalendarEventView:
    return msgspec.convert(row, CalendarEventView)


async def room_calendar_events(
    room_id: str, *, start: datetime | None = None, end: datetime | None = None, deleted: bool = False
) -> list[CalendarEventView]:
    """The room's events by start, those overlapping [start, end] when given; deleted ones only if asked."""
    where = CalendarEvent.room_id == room_id
    if not deleted:
        where = where & CalendarEvent.is_deleted.eq(False)
    if start is not None:
        where = where & (CalendarEvent.end_time > start)
    if end is not None:
        where = where & (CalendarEvent.start_time < end)
    rows = (
        await CalendarEvent.select(*_EVENT_COLUMNS)
        .where(where)
        .order_by(CalendarEvent.start_time)
        .output(load_json=True)
    )
    return [_event(row) for row in rows]


async def get_calendar_event(event_id: str) -> CalendarEventView | None:
    row = await CalendarEvent.select(*_EVENT_COLUMNS).where(CalendarEvent.id == event_id).output(load_json=True).first()
    return _event(row) if row else None


async def save_calendar_event(
    room_id: str, values: dict[str, Any], at: datetime
) -> Literal["created", "updated", "same"]:
    """Insert the occurrence, or update it when anything changed (deleted ones come back); what happened."""
    fields = ("title", "description", "start_time", "end_time", "attendees", "location", "ics_raw_data")
    existing = (
        await CalendarEvent.select(
            CalendarEvent.id, CalendarEvent.is_deleted, *(getattr(CalendarEvent, f) for f in fields)
        )
        .where(
            (CalendarEvent.room_id == room_id)
            & (CalendarEvent.ics_uid == values["ics_uid"])
            & (CalendarEvent.recurrence_id == values["recurrence_id"])
        )
        .output(load_json=True)
        .first()
    )
    if existing is None:
        await CalendarEvent(room_id=room_id, last_synced=at, created_at=at, updated_at=at, **values).save()
        return "created"
    changed = existing["is_deleted"] or any(existing[f] != values[f] for f in fields)
    update: dict[Any, Any] = {CalendarEvent.last_synced: at}
    if changed:
        update.update({getattr(CalendarEvent, f): values[f] for f in fields})
        update.update({CalendarEvent.is_deleted: False, CalendarEvent.updated_at: at})
    await CalendarEvent.update(update).where(CalendarEvent.id == existing["id"])
    return "updated" if changed else "same"


async def delete_calendar_events_except(
    room_id: str, keep: set[tuple[str, str]], after: datetime, at: datetime
) -> list[str]:
    """Mark deleted the room's events starting after `after` that the feed no longer has; their ids."""
    rows = await CalendarEvent.select(CalendarEvent.id, CalendarEvent.ics_uid, CalendarEvent.recurrence_id).where(
        (CalendarEvent.room_id == room_id) & CalendarEvent.is_deleted.eq(False) & (CalendarEvent.start_time > after)
    )
    gone = [r["id"] for r in rows if (r["ics_uid"], r["recurrence_id"]) not in keep]
    if gone:
        await CalendarEvent.update({CalendarEvent.is_deleted: True, CalendarEvent.updated_at: at}).where(
            CalendarEvent.id.is_in(gone)
        )
    return gone


async def calendar_event_ids(room_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    rows = await CalendarEvent.select(CalendarEvent.id, CalendarEvent.ics_uid, CalendarEvent.recurrence_id).where(
        CalendarEvent.room_id == room_id
    )
    wanted = set(keys)
    return {(r["ics_uid"], r["recurrence_id"]): r["id"] for r in rows if (r["ics_uid"], r["recurrence_id"]) in wanted}


async def rooms_with_calendars() -> list[RoomView]:
    rows = await Room.select(*_ROOM_COLUMNS).where(Room.ics_enabled.eq(True) & Room.ics_url.is_not_null())
    return [_room(row) for row in rows]


async def meetings_of_events(event_ids: list[str]) -> list[MeetingView]:
    """The active meetings opened for these calendar events."""
    if not event_ids:
        return []
    rows = (
        await Meeting.select(*_MEETING_COLUMNS)
        .where(Meeting.calendar_event_id.is_in(event_ids) & Meeting.is_active.eq(True))
        .output(load_json=True)
    )
    return [_meeting(row) for row in rows]


async def rooms_with_audio_retention() -> list[RoomView]:
    """The rooms whose transcripts keep their audio for a number of days only."""
    rows = await Room.select(*_ROOM_COLUMNS).where(Room.audio_retention_days.is_not_null())
    return [_room(row) for row in rows]
