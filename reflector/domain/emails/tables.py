"""PostgreSQL table of the e-mail module: the addresses meeting participants asked the transcript be sent to."""

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class MeetingEmailRequest(Table, tablename="meeting_email_request"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    # Refers to the meeting (ON DELETE CASCADE, written by the migration: the rooms module owns its table).
    meeting_id = Varchar(length=36)
    email = Varchar(length=320)  # unique per meeting, whatever its case (the migration's index)
    user_id = Varchar(length=36, null=True, default=None)  # who asked, when signed in (for the log only)
    created_at = Timestamptz(default=now)
