"""A delivery refers to its room and goes with it. Written as SQL: the rooms module owns the room table.
piccolo runs raw SQL before a migration's own table changes, so this is its own migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_delivery refers to room"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)

    async def refer():
        await engine_finder().run_ddl(
            "ALTER TABLE webhook_delivery ADD CONSTRAINT webhook_delivery_room_id_fkey FOREIGN KEY (room_id) "
            "REFERENCES room(id) ON DELETE CASCADE"
        )
        await engine_finder().run_ddl(
            "CREATE INDEX IF NOT EXISTS webhook_delivery_room_created ON webhook_delivery (room_id, created_at DESC)"
        )

    manager.add_raw(refer)
    return manager
