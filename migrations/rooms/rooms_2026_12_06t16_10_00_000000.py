"""What a platform tells of a recording while it is made (LiveKit: its track egresses, the room's end,
the participants' names), kept on the recording until it is complete."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSONB
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T16:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recording platform_state"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Recording",
        tablename="recording",
        column_name="platform_state",
        db_column_name="platform_state",
        column_class_name="JSONB",
        column_class=JSONB,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
