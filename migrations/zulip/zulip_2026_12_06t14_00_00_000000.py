"""The Zulip module's table: the message posted for a transcript to a stream and topic."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Boolean, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

from reflector.domain.ids import new_id, now

ID = "2026-12-06T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "zulip_post"

_COLUMNS = [
    ("id", Varchar, {"length": 36, "default": new_id, "primary_key": True}),
    ("transcript_id", Varchar, {"length": 36, "default": "", "index": True}),
    ("stream", Text, {"default": ""}),
    ("topic", Text, {"default": ""}),
    ("message_id", BigInt, {"default": 0}),
    ("include_topics", Boolean, {"default": False}),
    ("posted_at", Timestamptz, {"default": now}),
    ("updated_at", Timestamptz, {"default": now}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="zulip", description=DESCRIPTION)
    manager.add_table(class_name="ZulipPost", tablename="zulip_post", schema=None, columns=None)
    for name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name="ZulipPost",
            tablename="zulip_post",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "null": False,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
                **params,
            },
            schema=None,
        )
    return manager
