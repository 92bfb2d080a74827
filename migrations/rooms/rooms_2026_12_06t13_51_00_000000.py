"""A rotated-out webhook secret and until when it still signs beside the new one."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T13:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "room webhook_previous_secret and webhook_previous_until"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    for name, column_class in (("webhook_previous_secret", Text), ("webhook_previous_until", Timestamptz)):
        manager.add_column(
            table_class_name="Room",
            tablename="room",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
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
