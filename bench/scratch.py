"""A database of its own for a benchmark, on the tests' PostgreSQL server, migrated from scratch."""

from pathlib import Path

import asyncpg

from reflector.entrypoints.migrate import migrate
from reflector.settings import Settings, load_settings


async def fresh_database(admin_url: str, name: str, env: dict[str, str]) -> Settings:
    """Drop and create `name`, migrate it, and return settings pointed at it (plus `env`)."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    settings = load_settings({**env, "DATABASE_URL": url}, dotenv=Path("/nonexistent"))
    await migrate(settings)
    return settings
