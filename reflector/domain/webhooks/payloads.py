"""The events' bodies, built from what the transcripts and rooms modules hold, in Reflector's shapes.

`transcript.completed` is Reflector's payload field for field (its receivers parse it unchanged): the
transcript with its WebVTT, topics (each with its own WebVTT), participants and action items, the room, and
the meeting's calendar event, whose attendees are sent as the objects the calendar holds (Reflector types
them as strings and so drops the whole block whenever anyone attends).
"""

from datetime import datetime
from typing import Any

import msgspec

from reflector.domain.rooms.calendar import CalendarEventView
from reflector.domain.rooms.models import MeetingView, RoomView
from reflector.domain.transcripts.models import TranscriptView
from reflector.domain.transcripts.service import TranscriptService, meeting_result
from reflector.domain.webhooks.models import (
    Attendee,
    CalendarEventPayload,
    FailedTranscriptPayload,
    MeetingChanged,
    MeetingPayload,
    ParticipantPayload,
    RoomRef,
    TestEvent,
    TopicPayload,
    TranscriptCompleted,
    TranscriptFailed,
    TranscriptPayload,
)
from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.formats import to_vtt

TEST_MESSAGE = "This is a test webhook from Reflector"


def frontend_url(base_url: str, transcript_id: str) -> str:
    return f"{base_url.rstrip('/')}/transcripts/{transcript_id}"


def room_ref(room: RoomView) -> RoomRef:
    return RoomRef(id=room.id, name=room.name)


async def transcript_completed(
    transcripts: TranscriptService,
    transcript: TranscriptView,
    room: RoomView,
    meeting: MeetingView | None,
    *,
    event_id: str,
    at: datetime,
    base_url: str,
    calendar: CalendarEventView | None = None,
) -> TranscriptCompleted:
    speakers_and_topics = await transcripts.speakers_and_topics(transcript.id)
    people = speakers_and_topics[0]
    result = await meeting_result(
        transcripts, transcript.id, transcript=transcript, speakers_and_topics=speakers_and_topics
    )
    topics = [
        TopicPayload(
            title=topic.title,
            summary=topic.summary,
            timestamp=topic.start,
            duration=round(topic.end - topic.start, 3),
            # The topic's own words as subtitles, under the transcript's speaker names.
            webvtt=to_vtt(
                msgspec.structs.replace(result, words=topic.words, segments=segments_from_words(topic.words))
            ),
        )
        for topic in result.topics
    ]
    return TranscriptCompleted(
        event="transcript.completed",
        event_id=event_id,
        timestamp=at,
        transcript=TranscriptPayload(
            id=transcript.id,
            room_id=transcript.room_id,
            created_at=transcript.created_at,
            duration=transcript.duration,
            title=transcript.title,
            short_summary=transcript.short_summary,
            long_summary=transcript.long_summary,
            webvtt=to_vtt(result),
            topics=topics,
            participants=[ParticipantPayload(id=p.id, name=p.name, speaker=p.speaker) for p in people],
            source_language=transcript.source_language,
            target_language=transcript.target_language,
            status=transcript.status,
            frontend_url=frontend_url(base_url, transcript.id),
            action_items=transcript.action_items or {},
        ),
        room=room_ref(room),
        calendar_event=calendar_event(meeting, calendar),
    )


def calendar_event(meeting: MeetingView | None, event: CalendarEventView | None = None) -> CalendarEventPayload | None:
    """The calendar event a meeting was created for: as the calendar stores it, else from what the meeting
    keeps of it (its title, description and attendees)."""
    if meeting is None or meeting.calendar_event_id is None:
        return None
    if event is not None:
        return CalendarEventPayload(
            id=event.id,
            ics_uid=event.ics_uid,
            title=event.title,
            start_time=event.start_time,
            end_time=event.end_time,
            description=event.description,
            location=event.location,
            attendees=[msgspec.convert(msgspec.to_builtins(a), Attendee) for a in event.attendees],
        )
    data: dict[str, Any] = meeting.calendar_metadata or {}
    attendees = [
        Attendee(email=a) if isinstance(a, str) else msgspec.convert(a, Attendee, strict=False)
        for a in data.get("attendees") or []
        if isinstance(a, str | dict)
    ]
    return CalendarEventPayload(
        id=meeting.calendar_event_id,
        ics_uid=data.get("ics_uid"),
        title=data.get("title"),
        start_time=_time(data.get("start_time")),
        end_time=_time(data.get("end_time")),
        description=data.get("description"),
        location=data.get("location"),
        attendees=attendees,
    )


def _time(value: Any) -> datetime | None:
    try:
        return msgspec.convert(value, datetime) if value else None
    except msgspec.ValidationError:
        return None


def transcript_failed(
    transcript: TranscriptView, room: RoomView, *, error: str, event_id: str, at: datetime, base_url: str
) -> TranscriptFailed:
    return TranscriptFailed(
        event="transcript.failed",
        event_id=event_id,
        timestamp=at,
        transcript=FailedTranscriptPayload(
            id=transcript.id,
            room_id=transcript.room_id,
            created_at=transcript.created_at,
            title=transcript.title,
            status="error",
            error=error,
            frontend_url=frontend_url(base_url, transcript.id),
        ),
        room=room_ref(room),
    )


def meeting_changed(event: str, room: RoomView, meeting: MeetingView, *, event_id: str, at: datetime) -> MeetingChanged:
    return MeetingChanged(
        event=event,
        event_id=event_id,
        timestamp=at,
        meeting=MeetingPayload(
            id=meeting.id,
            room_id=meeting.room_id,
            platform=meeting.platform,
            room_name=meeting.room_name,
            start_date=meeting.start_date,
            end_date=meeting.end_date,
            num_clients=meeting.num_clients,
            is_active=meeting.is_active,
            calendar_event_id=meeting.calendar_event_id,
        ),
        room=room_ref(room),
    )


def test_event(room: RoomView, *, event_id: str, at: datetime) -> TestEvent:
    return TestEvent(event="test", event_id=event_id, timestamp=at, message=TEST_MESSAGE, room=room_ref(room))
