"""A room's calendar events (calendar.py): one row per occurrence, unique by (room, UID, recurrence id), and
the meetings opened for them found by their event."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_event"

STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS calendar_event ("
    " id VARCHAR(36) PRIMARY KEY,"
    " room_id VARCHAR(36) NOT NULL REFERENCES room (id) ON DELETE CASCADE,"
    " ics_uid VARCHAR(512) NOT NULL,"
    " recurrence_id VARCHAR(64) NOT NULL DEFAULT '',"
    " title TEXT NOT NULL DEFAULT '',"
    " description TEXT NOT NULL DEFAULT '',"
    " start_time TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " end_time TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " attendees JSONB NOT NULL DEFAULT '[]'::jsonb,"
    " location TEXT NOT NULL DEFAULT '',"
    " ics_raw_data TEXT NOT NULL DEFAULT '',"
    " last_synced TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " is_deleted BOOLEAN NOT NULL DEFAULT false,"
    " created_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " updated_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE UNIQUE INDEX IF NOT EXISTS calendar_event_occurrence ON calendar_event (room_id, ics_uid, recurrence_id)",
    "CREATE INDEX IF NOT EXISTS calendar_event_room_start ON calendar_event (room_id, start_time)",
    "CREATE INDEX IF NOT EXISTS meeting_calendar_event ON meeting (calendar_event_id)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)

    async def create():
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create)
    return manager
