"""A Zulip post refers to its transcript and goes with it, and there is one per transcript, stream and topic.
Written as SQL (the transcripts module owns its table); piccolo runs raw SQL before a migration's own table
changes, so this is its own migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T14:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "zulip_post refers to transcript, one per stream and topic"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="zulip", description=DESCRIPTION)

    async def refer():
        await engine_finder().run_ddl(
            "ALTER TABLE zulip_post ADD CONSTRAINT zulip_post_transcript_id_fkey FOREIGN KEY (transcript_id) "
            "REFERENCES transcript(id) ON DELETE CASCADE"
        )
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS zulip_post_place ON zulip_post (transcript_id, stream, topic)"
        )

    manager.add_raw(refer)
    return manager
