"""Real services for the tests: the machine's PostgreSQL (a private database, migrated by our own
migrations and truncated between tests) and Redis (a private database number, flushed)."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from reflector.bootstrap import Services, start_services, stop_services
from reflector.settings import Settings, load_settings
from reflector.web.app import create_app
from tests.net import serve

ADMIN_URL = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Separate names let several checkouts run the suite side by side on one server.
TEST_DB = os.environ.get("TEST_DATABASE_NAME", "reflector_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _db_url() -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{TEST_DB}"


async def _recreate_database() -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            TEST_DB,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
        await conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reflector-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    """Settings as a process would load them, pointed at the test services."""
    base = load_settings({}, dotenv=Path("/nonexistent"))
    return msgspec.structs.replace(
        base,
        data_dir=data_dir,
        database=msgspec.structs.replace(base.database, url=_db_url()),
        redis=msgspec.structs.replace(base.redis, url=REDIS_URL),
    )


@pytest.fixture(scope="session")
async def migrated(settings: Settings) -> str:
    from reflector.entrypoints.migrate import migrate

    await _recreate_database()
    await migrate(settings)
    return _db_url()


@pytest.fixture(scope="session")
async def services(settings: Settings, migrated: str) -> AsyncIterator[Services]:
    services = await start_services(settings)
    yield services
    await stop_services(services)


@pytest.fixture
async def clean(services: Services) -> AsyncIterator[Services]:
    """Empty tables and queues before a test."""
    from reflector.domain.tables import ALL_TABLES

    names = ", ".join(f'"{t._meta.tablename}"' for t in ALL_TABLES)  # quoted: "user" is a keyword
    await ALL_TABLES[0].raw(f"TRUNCATE {names} CASCADE")
    await services.redis.flushdb()
    yield services


@pytest.fixture
async def served(clean: Services, settings: Settings) -> AsyncIterator[str]:
    """The app on a loopback port, for WebSockets and true HTTP; its base URL."""
    async with serve(create_app(settings, services=clean)) as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives the browser is marked e2e by that alone, so `make test-fast` can leave it out."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
