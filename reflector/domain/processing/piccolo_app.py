"""piccolo app of the processing module: its tables and its migrations folder. The app keeps its first
name, "pipelines", under which databases record the migrations they applied."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from reflector.domain.processing import tables

APP_CONFIG = AppConfig(
    app_name="pipelines",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "pipelines"),
    table_classes=[t for t in vars(tables).values() if isinstance(t, type) and t.__module__ == tables.__name__],
    migration_dependencies=["reflector.domain.transcripts.piccolo_app"],
    commands=[],
)
