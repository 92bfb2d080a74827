"""Indexes that let a page of the transcript list skip the rows before it in the index alone.

Partial (trashed transcripts are never listed) and holding the sort keys and the id, so finding page N
of the list, and counting the list, are index-only scans instead of reading N pages of wide rows. piccolo's
columns cannot express either, hence raw SQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "transcript listing indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="transcripts", description=DESCRIPTION)

    async def listing_indexes():
        await engine_finder().run_ddl(
            "CREATE INDEX transcript_listing ON transcript (created_at DESC, id) WHERE deleted_at IS NULL"
        )
        await engine_finder().run_ddl(
            "CREATE INDEX transcript_owner_listing ON transcript (user_id, created_at DESC, id) "
            "WHERE deleted_at IS NULL"
        )

    manager.add_raw(listing_indexes)
    return manager
