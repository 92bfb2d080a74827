"""A room may keep its transcripts' audio for a number of days only (their text stays): null keeps it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "room audio_retention_days"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Room",
        tablename="room",
        column_name="audio_retention_days",
        db_column_name="audio_retention_days",
        column_class_name="Integer",
        column_class=Integer,
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
