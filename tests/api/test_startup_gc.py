"""A web process leaves what start-up built out of its garbage collections: a full collection over the app's
start-up objects took about 50 ms here, added to whichever request it landed on (the p99 of list and get)."""

import gc
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from reflector.settings import Settings
from reflector.web.app import create_app


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


async def test_start_up_objects_are_frozen_once_the_app_serves(settings: Settings, migrated: str, thawed: None) -> None:
    app = create_app(settings)  # no services given: the app starts its own, as a web process does
    assert gc.get_freeze_count() == 0
    async with AsyncTestClient(app, base_url="http://localhost") as client:
        response = await client.get("/health")
        frozen = gc.get_freeze_count()
        walked = len(gc.get_objects())  # what a full collection now walks: the frozen ones are left out
    assert response.status_code == 200
    assert frozen > 50_000
    assert walked < frozen / 2
