"""meeting_email_request: an address a participant gave during a meeting, to be sent its transcripts.
Written as SQL: it refers to the rooms module's meeting table (and goes with the meeting), and one address is
kept once per meeting whatever its case."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting_email_request"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="emails", description=DESCRIPTION)

    async def create():
        await engine_finder().run_ddl(
            "CREATE TABLE meeting_email_request ("
            " id VARCHAR(36) PRIMARY KEY,"
            " meeting_id VARCHAR(36) NOT NULL REFERENCES meeting(id) ON DELETE CASCADE,"
            " email VARCHAR(320) NOT NULL,"
            " user_id VARCHAR(36) NULL,"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX meeting_email_request_address ON meeting_email_request (meeting_id, lower(email))"
        )

    manager.add_raw(create)
    return manager
