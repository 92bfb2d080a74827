"""The app from its factory on the test PostgreSQL and Redis, called through httpx in the test's own loop
(so it shares the test's connection pool); tests that need a socket use `served` (tests/conftest.py)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app


@pytest.fixture
async def api(clean: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=clean)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        yield client
