"""A consent answer's participant (`participant_key`), and when a recording's media were deleted after a
participant declined (`media_deleted_at`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting_consent participant_key, recording media_deleted_at"

COMMON = {
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rooms", description=DESCRIPTION)
    manager.add_column(
        table_class_name="MeetingConsent",
        tablename="meeting_consent",
        column_name="participant_key",
        db_column_name="participant_key",
        column_class_name="Varchar",
        column_class=Varchar,
        params={**COMMON, "length": 255, "default": "", "null": False},
        schema=None,
    )
    manager.add_column(
        table_class_name="Recording",
        tablename="recording",
        column_name="media_deleted_at",
        db_column_name="media_deleted_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={**COMMON, "default": None, "null": True},
        schema=None,
    )
    return manager
