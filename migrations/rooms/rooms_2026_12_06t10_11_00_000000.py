"""A transcript's room_id and meeting_id refer to the room and the meeting it was recorded in.

Reflector leaves a deleted room's id dangling in its transcripts; here the transcript stays and forgets the
room. NOT VALID: rows written before rooms existed are not checked (an imported id may name no room here),
every later write is. piccolo runs raw SQL before a migration's own table changes, so this is its own
migration, after the one that creates the tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T10:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "transcript refers to room and meeting"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)

    async def refer():
        for column, table in (("room_id", "room"), ("meeting_id", "meeting")):
            await engine_finder().run_ddl(
                f"ALTER TABLE transcript ADD CONSTRAINT transcript_{column}_fkey FOREIGN KEY ({column}) "
                f"REFERENCES {table}(id) ON DELETE SET NULL NOT VALID"
            )
        await engine_finder().run_ddl("CREATE INDEX IF NOT EXISTS transcript_meeting_id ON transcript (meeting_id)")

    manager.add_raw(refer)
    return manager
