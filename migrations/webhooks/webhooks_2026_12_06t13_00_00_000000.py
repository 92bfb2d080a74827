"""The webhooks module's tables: each event sent to a room's endpoint and every attempt at it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from reflector.domain.ids import new_id, now

ID = "2026-12-06T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_delivery and webhook_attempt"


class WebhookDelivery(Table, tablename="webhook_delivery", schema=None):
    id = Varchar(length=64, primary_key=True, default=new_id)


_DELIVERY = [
    ("id", Varchar, {"length": 64, "default": new_id, "primary_key": True}),
    ("room_id", Varchar, {"length": 36, "default": "", "index": True}),
    ("event_type", Varchar, {"length": 32, "default": ""}),
    ("body", Bytea, {"default": b""}),
    ("endpoint", Text, {"default": ""}),
    ("status", Varchar, {"length": 16, "default": "pending"}),
    ("attempts", Integer, {"default": 0}),
    ("series_start", Integer, {"default": 0}),
    ("last_status_code", Integer, {"default": None, "null": True}),
    ("next_attempt_at", Timestamptz, {"default": None, "null": True}),
    ("created_at", Timestamptz, {"default": now}),
    ("updated_at", Timestamptz, {"default": now}),
]
_ATTEMPT = [
    ("id", Varchar, {"length": 36, "default": new_id, "primary_key": True}),
    (
        "delivery_id",
        ForeignKey,
        {
            "references": WebhookDelivery,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "default": None,
            "null": True,
            "index": True,
        },
    ),
    ("attempt", Integer, {"default": 0}),
    ("endpoint", Text, {"default": ""}),
    ("at", Timestamptz, {"default": now}),
    ("outcome", Varchar, {"length": 16, "default": ""}),
    ("status_code", Integer, {"default": None, "null": True}),
    ("latency_ms", Integer, {"default": 0}),
    ("response_excerpt", Text, {"default": ""}),
    ("error", Text, {"default": ""}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)
    for class_name, tablename, columns in (
        ("WebhookDelivery", "webhook_delivery", _DELIVERY),
        ("WebhookAttempt", "webhook_attempt", _ATTEMPT),
    ):
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
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
