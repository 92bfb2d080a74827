"""Since when a meeting is empty: what closing an empty meeting and the join grace are measured from
(reflector/domain/rooms/lifecycle.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T13:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting empty_since"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Meeting",
        tablename="meeting",
        column_name="empty_since",
        db_column_name="empty_since",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
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
