"""The app from its factory on the test PostgreSQL and Redis, called through httpx in the test's own loop
(so it shares the test's connection pool); tests that need a socket use `served` (tests/conftest.py)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from reflector.adapters.storage import S3Storage
from reflector.bootstrap import Services, wire
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.integration.test_storage import CREDENTIALS, _create_bucket, s3_endpoint  # noqa: F401 - fixture


@pytest.fixture
async def api(clean: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=clean)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        yield client


@pytest.fixture
async def s3_api(
    clean: Services,
    settings: Settings,
    s3_endpoint: str,  # noqa: F811 - the imported fixture
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """The app on S3 storage (moto's real HTTP server)."""
    async with S3Storage(bucket=_create_bucket(s3_endpoint), endpoint_url=s3_endpoint, **CREDENTIALS) as storage:
        on_s3 = wire(settings, clean.redis, clean.bus, storage, clean.queue)
        transport = httpx.ASGITransport(app=create_app(settings, services=on_s3))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
            yield on_s3, api
