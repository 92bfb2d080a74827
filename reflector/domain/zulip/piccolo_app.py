"""piccolo app of the Zulip module: its table and its migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from reflector.domain.zulip import tables

APP_CONFIG = AppConfig(
    app_name="zulip",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "zulip"),
    table_classes=[t for t in vars(tables).values() if isinstance(t, type) and t.__module__ == tables.__name__],
    migration_dependencies=["reflector.domain.transcripts.piccolo_app"],
    commands=[],
)
