"""piccolo app of the webhooks module: its tables and its migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from reflector.domain.webhooks import tables

APP_CONFIG = AppConfig(
    app_name="webhooks",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "webhooks"),
    table_classes=[t for t in vars(tables).values() if isinstance(t, type) and t.__module__ == tables.__name__],
    migration_dependencies=["reflector.domain.rooms.piccolo_app"],
    commands=[],
)
