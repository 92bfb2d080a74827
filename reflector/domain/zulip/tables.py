"""PostgreSQL table of the Zulip module: the message posted for a transcript to a stream and topic, so a
share to the same place edits it and a share elsewhere posts another."""

from piccolo.columns import BigInt, Boolean, Text, Timestamptz, Varchar
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class ZulipPost(Table, tablename="zulip_post"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    # Refers to the transcript (ON DELETE CASCADE, written by the migration: the transcripts module owns it);
    # one row per (transcript, stream, topic), a unique index the migration writes.
    transcript_id = Varchar(length=36, index=True)
    stream = Text()
    topic = Text()
    message_id = BigInt()  # Zulip's id of the message
    include_topics = Boolean(default=False)  # the message lists the topics too
    posted_at = Timestamptz(default=now)
    updated_at = Timestamptz(default=now)
