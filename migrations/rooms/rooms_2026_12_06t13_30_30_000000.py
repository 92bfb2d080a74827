"""One consent answer per participant and meeting: the answers kept so far get their participant (a signed-in
person's `user:{id}`, each anonymous answer its own), then (meeting_id, participant_key) is unique, so a
repeated answer updates the first. Raw SQL runs before a migration's table changes, hence its own migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:30:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting consent unique by meeting and participant"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)

    async def unique():
        engine = engine_finder()
        await engine.run_ddl(
            "UPDATE meeting_consent SET participant_key = CASE WHEN user_id IS NULL THEN 'anon:' || id "
            "ELSE 'user:' || user_id END WHERE participant_key = ''"
        )
        # A person who answered twice before answers were kept once: the latest answer stays.
        await engine.run_ddl(
            "DELETE FROM meeting_consent a USING meeting_consent b WHERE a.meeting_id = b.meeting_id "
            "AND a.participant_key = b.participant_key AND a.consent_timestamp < b.consent_timestamp"
        )
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS meeting_consent_meeting_participant "
            "ON meeting_consent (meeting_id, participant_key)"
        )

    manager.add_raw(unique)
    return manager
