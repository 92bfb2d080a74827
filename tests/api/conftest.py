"""The app from its factory on the test PostgreSQL and Redis, called through httpx in the test's own loop
(so it shares the test's connection pool); end-to-end tests serve it over loopback instead."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import free_port


@pytest.fixture
async def api(clean: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=clean)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def served(clean: Services, settings: Settings) -> AsyncIterator[str]:
    """The app on a loopback port (uvicorn in the test's loop), for WebSockets and true HTTP; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, services=clean), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
