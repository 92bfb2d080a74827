"""PostgreSQL tables of the rooms module: rooms, the meetings held in them, each participant's consent to
record, and the recordings a video platform made of a meeting."""

from piccolo.columns import JSONB, Boolean, Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class Room(Table, tablename="room"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    name = Varchar(length=255, unique=True)  # the slug of the room's page, /{name}
    user_id = Varchar(length=255, index=True)  # its owner
    created_at = Timestamptz(default=now)
    zulip_auto_post = Boolean(default=False)
    zulip_stream = Varchar(length=255, default="")
    zulip_topic = Varchar(length=255, default="")
    is_locked = Boolean(default=False)
    room_mode = Varchar(length=16, default="normal")
    recording_type = Varchar(length=16, default="cloud")
    recording_trigger = Varchar(length=32, default="automatic-2nd-participant")
    is_shared = Boolean(default=False, index=True)
    webhook_url = Text(null=True, default=None)
    webhook_secret = Text(null=True, default=None)
    # Set when the receiver answered 410 Gone: nothing is sent until the owner sets the URL or secret again.
    webhook_disabled_at = Timestamptz(null=True, default=None)
    webhook_disabled_reason = Text(default="")
    webhook_events = JSONB(null=True, default=None)  # a list of event types; None: every event
    # The secret a rotation replaced, still signing beside the new one until `webhook_previous_until`.
    webhook_previous_secret = Text(null=True, default=None)
    webhook_previous_until = Timestamptz(null=True, default=None)
    ics_url = Text(null=True, default=None)
    ics_fetch_interval = Integer(default=300)  # seconds
    ics_enabled = Boolean(default=False, index=True)
    ics_last_sync = Timestamptz(null=True, default=None)
    ics_last_etag = Text(null=True, default=None)
    platform = Varchar(length=16, default="daily")
    skip_consent = Boolean(default=False)
    store_video = Boolean(default=False)
    email_transcript_to = Varchar(length=320, null=True, default=None)
    # Its transcripts' audio is deleted this many days after they were made, their text kept (null: kept).
    audio_retention_days = Integer(null=True, default=None)


class Meeting(Table, tablename="meeting"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    room_id = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    platform = Varchar(length=16, default="daily")
    # The platform's own id of its room or meeting (a Daily room id, a Whereby meetingId, a LiveKit room).
    platform_id = Varchar(length=255, default="", index=True)
    room_name = Varchar(length=255, default="")  # the platform's room name
    room_url = Text(default="")
    host_room_url = Text(default="")
    start_date = Timestamptz(default=now)
    end_date = Timestamptz(default=now)
    # The room's settings when the meeting was created: a changed room gets a new meeting.
    is_locked = Boolean(default=False)
    room_mode = Varchar(length=16, default="normal")
    recording_type = Varchar(length=16, default="cloud")
    recording_trigger = Varchar(length=32, default="automatic-2nd-participant")
    store_video = Boolean(default=False)
    num_clients = Integer(default=0)
    is_active = Boolean(default=True)
    # Since when nobody is in it (None: someone is); a join through Reflector restarts it, so the person
    # about to arrive on the platform gets the join grace (lifecycle.py).
    empty_since = Timestamptz(null=True, default=None)
    calendar_event_id = Varchar(length=36, null=True, default=None)
    calendar_metadata = JSONB(null=True, default=None)
    daily_composed_video_s3_key = Text(null=True, default=None)
    daily_composed_video_duration = Integer(null=True, default=None)
    created_at = Timestamptz(default=now)


class MeetingConsent(Table, tablename="meeting_consent"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    meeting_id = ForeignKey(references=Meeting, on_delete=OnDelete.cascade, index=True)
    user_id = Varchar(length=255, null=True, default=None)  # None: an anonymous participant
    # Who answered: `user:{id}`, or `anon:{id}` of an anonymous browser (its cookie) or of the answer itself.
    # Unique with the meeting, so a person's second answer replaces the first.
    participant_key = Varchar(length=255, default="")
    consent_given = Boolean(default=False)
    consent_timestamp = Timestamptz(default=now)


class Recording(Table, tablename="recording"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    meeting_id = ForeignKey(references=Meeting, on_delete=OnDelete.set_null, null=True, index=True)
    # The id the platform returned when the recording started: recordings are matched to meetings by it.
    platform_recording_id = Varchar(length=255, null=True, default=None, unique=True)
    bucket_name = Varchar(length=255, default="")
    object_key = Text(default="")  # the file, or the folder of a multitrack recording
    recorded_at = Timestamptz(default=now)
    status = Varchar(length=16, default="pending")  # pending | processing | completed | failed | ignored
    track_keys = JSONB(null=True, default=None)  # None: one file; a list: one key per participant's track
    deleted_at = Timestamptz(null=True, default=None)
    transcript_id = Varchar(length=36, null=True, default=None)  # the transcript made of it, once processing began
    claimed_at = Timestamptz(null=True, default=None)  # when it was last taken up for processing
    # When its audio and video were deleted from the platform's bucket (a participant declined consent).
    media_deleted_at = Timestamptz(null=True, default=None)
    # What the platform told of it while it was made (LiveKit: egresses, the room's end, names): a
    # `LiveKitGathering`; None for recordings announced whole.
    platform_state = JSONB(null=True, default=None)


class PlatformEvent(Table, tablename="platform_event"):
    """Each authentic webhook a video platform sent, as received, once: (platform, event_id) is unique, so a
    redelivered event is recognised and not processed again."""

    id = Varchar(length=36, primary_key=True, default=new_id)
    platform = Varchar(length=16)  # daily | whereby | livekit
    # The platform's id of the event, or the SHA-256 of the body for one that carries none.
    event_id = Varchar(length=255)
    event_type = Varchar(length=64, default="")
    body = Bytea()  # the raw bytes the signature covered
    outcome = Varchar(length=16, default="processed")  # processed | ignored | unreadable
    received_at = Timestamptz(default=now)


class CalendarEvent(Table, tablename="calendar_event"):
    """An occurrence of an event of a room's calendar feed (calendar.py): unique by (room, UID, recurrence id),
    so a re-sync updates it; one gone from the feed or cancelled is kept, marked deleted."""

    id = Varchar(length=36, primary_key=True, default=new_id)
    room_id = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    ics_uid = Varchar(length=512)
    recurrence_id = Varchar(length=64, default="")  # "" for a single event; the occurrence's original start
    title = Text(default="")
    description = Text(default="")
    start_time = Timestamptz(default=now)
    end_time = Timestamptz(default=now)
    attendees = JSONB(default=[])
    location = Text(default="")
    ics_raw_data = Text(default="")
    last_synced = Timestamptz(default=now)
    is_deleted = Boolean(default=False)
    created_at = Timestamptz(default=now)
    updated_at = Timestamptz(default=now)
