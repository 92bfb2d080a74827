"""PostgreSQL tables of the transcripts module. Topics, participants and events are rows, not JSON
columns that are rewritten on every append."""

from piccolo.columns import (
    JSONB,
    BigInt,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class Transcript(Table, tablename="transcript"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    user_id = Varchar(length=255, null=True, default=None, index=True)
    name = Varchar(length=255, default="")
    title = Text(default="")
    status = Varchar(length=16, default="idle")
    error = Text(default="")
    locked = Boolean(default=False)
    reviewed = Boolean(default=False)
    share_mode = Varchar(length=16, default="private")
    source_kind = Varchar(length=8, default="file", index=True)
    source_language = Varchar(length=16, default="en")
    target_language = Varchar(length=16, default="en")
    duration = Float(default=0.0)  # milliseconds, as Reflector
    short_summary = Text(default="")
    long_summary = Text(default="")
    # Reflector's shape: {decisions: [...], next_steps: [...]}.
    action_items = JSONB(default={})
    room_id = Varchar(length=36, null=True, default=None, index=True)
    meeting_id = Varchar(length=36, null=True, default=None)
    audio_location = Varchar(length=16, default="local")
    audio_deleted = Boolean(default=False)
    # Plain text of every word, speaker-tagged; feeds the search vector (added in the migration).
    text = Text(default="")
    change_seq = BigInt(default=0, index=True)
    created_at = Timestamptz(default=now, index=True)
    updated_at = Timestamptz(default=now)
    # In its owner's trash since then (null: not deleted): hidden everywhere, purged after TRASH_DAYS.
    deleted_at = Timestamptz(null=True, default=None, index=True)


class Topic(Table, tablename="topic"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    transcript_id = ForeignKey(references=Transcript, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    title = Text(default="")
    summary = Text(default="")
    timestamp = Float(default=0.0)  # seconds
    duration = Float(default=0.0)  # seconds
    words = JSONB(default=[])


class Participant(Table, tablename="participant"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    transcript_id = ForeignKey(references=Transcript, on_delete=OnDelete.cascade, index=True)
    speaker = Integer(null=True, default=None)
    name = Varchar(length=255, default="")
    user_id = Varchar(length=255, null=True, default=None)
    # Named by the meeting itself (pipelines/speaker_naming.py): the lines that show it; null when a person named it.
    evidence = JSONB(null=True, default=None)


class TranscriptEvent(Table, tablename="transcript_event"):
    id = Serial(primary_key=True)
    transcript_id = ForeignKey(references=Transcript, on_delete=OnDelete.cascade, index=True)
    event = Varchar(length=32)
    data = JSONB(default={})
    created_at = Timestamptz(default=now)
