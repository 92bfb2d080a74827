"""piccolo's entry point, for its migration commands. The engine comes from Reflector's settings."""

from piccolo.conf.apps import AppRegistry

from reflector.adapters.db import configure_engine, current_engine
from reflector.domain.tables import ALL_TABLES
from reflector.settings import load_settings


def _engine():
    engine = current_engine()
    if engine is None:
        url = load_settings().database.url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set (reflector run/migrate starts a private server)")
        engine = configure_engine(url, ALL_TABLES)
    return engine


DB = _engine()

APP_REGISTRY = AppRegistry(
    apps=[
        "reflector.domain.transcripts.piccolo_app",
        "reflector.domain.processing.piccolo_app",
        "reflector.domain.auth.piccolo_app",
        "reflector.domain.rooms.piccolo_app",
        "reflector.domain.webhooks.piccolo_app",
        "reflector.domain.zulip.piccolo_app",
        "reflector.domain.emails.piccolo_app",
    ]
)
