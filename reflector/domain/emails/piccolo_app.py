"""piccolo app of the e-mail module: its table and its migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from reflector.domain.emails import tables

APP_CONFIG = AppConfig(
    app_name="emails",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "emails"),
    table_classes=[t for t in vars(tables).values() if isinstance(t, type) and t.__module__ == tables.__name__],
    migration_dependencies=["reflector.domain.rooms.piccolo_app"],
    commands=[],
)
