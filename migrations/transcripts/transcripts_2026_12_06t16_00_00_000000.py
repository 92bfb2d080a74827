"""A deleted transcript goes to its owner's trash first: when it went there (null: not in the trash)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "transcript deleted_at (trash)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="transcripts", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Transcript",
        tablename="transcript",
        column_name="deleted_at",
        db_column_name="deleted_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
