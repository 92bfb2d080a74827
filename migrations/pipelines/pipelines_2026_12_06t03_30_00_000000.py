"""Who holds a running run, and how many times a run's worker died under it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pipeline_run holder and crashes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pipelines", description=DESCRIPTION)
    common = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    manager.add_column(
        table_class_name="PipelineRun",
        tablename="pipeline_run",
        column_name="crashes",
        db_column_name="crashes",
        column_class_name="Integer",
        column_class=Integer,
        params={"default": 0, **common},
        schema=None,
    )
    manager.add_column(
        table_class_name="PipelineRun",
        tablename="pipeline_run",
        column_name="holder",
        db_column_name="holder",
        column_class_name="Varchar",
        column_class=Varchar,
        params={"length": 96, "default": "", **common},
        schema=None,
    )
    return manager
