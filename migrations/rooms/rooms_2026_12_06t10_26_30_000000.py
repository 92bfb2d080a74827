"""A platform's event is stored once: (platform, event_id) is unique, which is how a redelivered webhook is
recognised. piccolo runs raw SQL before a migration's own table changes, so this is its own migration,
after the one that creates the table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T10:26:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "platform events unique by platform and event id"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)

    async def unique():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS platform_event_platform_event_id ON platform_event (platform, event_id)"
        )

    manager.add_raw(unique)
    return manager
