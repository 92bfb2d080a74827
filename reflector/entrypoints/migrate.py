"""Apply piccolo's migrations for every app, from the process's own settings."""

import os

import structlog

from reflector.adapters.db import configure_engine
from reflector.domain.tables import ALL_TABLES
from reflector.settings import Settings

log = structlog.get_logger(__name__)


class MigrationFailed(Exception):
    pass


async def migrate(settings: Settings) -> None:
    assert settings.database.url is not None
    # piccolo's migration runner finds its configuration through this variable.
    os.environ["PICCOLO_CONF"] = "reflector.piccolo_conf"
    configure_engine(settings.database.url, ALL_TABLES)
    from piccolo.apps.migrations.commands.forwards import run_forwards

    for app in ("transcripts", "pipelines", "auth", "rooms", "webhooks", "zulip", "emails"):
        result = await run_forwards(app_name=app, migration_id="all")
        if not result.success:
            raise MigrationFailed(f"migrations of {app} failed: {result.message}")
    log.info("migrations.applied")
