"""A room's webhook disabled by its receiver (a 410 Gone), when and why: nothing is sent to it until its
owner sets the URL or secret again."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T13:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "room webhook_disabled_at and webhook_disabled_reason"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    common = {
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    for name, column_class, params in (
        ("webhook_disabled_at", Timestamptz, {"default": None, "null": True}),
        ("webhook_disabled_reason", Text, {"default": "", "null": False}),
    ):
        manager.add_column(
            table_class_name="Room",
            tablename="room",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={**common, **params},
            schema=None,
        )
    return manager
