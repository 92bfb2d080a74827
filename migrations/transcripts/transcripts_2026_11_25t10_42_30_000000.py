"""Search vector, change sequence and the indexes piccolo's columns cannot express.

piccolo runs raw SQL before a migration's own table changes, so this lives in its own migration.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T10:42:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "search vector and change_seq"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="transcripts", description=DESCRIPTION)

    # change_seq: a fresh value on every write, for incremental sync (as Reflector).
    # search_vector_en: title (A), long summary (B), words (C), kept by PostgreSQL itself.
    async def search_and_change_seq():
        await engine_finder().run_ddl("CREATE SEQUENCE IF NOT EXISTS transcript_change_seq_counter")
        await engine_finder().run_ddl(
            """
            CREATE OR REPLACE FUNCTION transcript_bump_change_seq() RETURNS trigger AS $$
            BEGIN
                NEW.change_seq := nextval('transcript_change_seq_counter');
                NEW.updated_at := now();
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        await engine_finder().run_ddl(
            "CREATE TRIGGER transcript_bump_change_seq BEFORE INSERT OR UPDATE ON transcript "
            "FOR EACH ROW EXECUTE FUNCTION transcript_bump_change_seq()"
        )
        await engine_finder().run_ddl(
            """
            ALTER TABLE transcript ADD COLUMN search_vector_en tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', coalesce(title, '')), 'A')
                || setweight(to_tsvector('english', coalesce(long_summary, '')), 'B')
                || setweight(to_tsvector('english', coalesce(text, '')), 'C')
            ) STORED
            """
        )
        await engine_finder().run_ddl(
            "CREATE INDEX transcript_search_vector_en ON transcript USING GIN (search_vector_en)"
        )
        await engine_finder().run_ddl("CREATE INDEX transcript_user_created ON transcript (user_id, created_at)")

    manager.add_raw(search_and_change_seq)

    return manager
