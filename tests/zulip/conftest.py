"""A fake Zulip served on 127.0.0.1 for one test, and Reflector's services wired to post to it."""

from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest

from reflector.bootstrap import Services, wire
from reflector.settings import Settings, ZulipSettings
from tests.platforms.fake_server import Served
from tests.zulip.zulip_fake import API_KEY, BOT_EMAIL, FakeZulip


@pytest.fixture
def zulip() -> Iterator[FakeZulip]:
    fake = FakeZulip()
    served = Served(fake).start()
    try:
        yield fake
    finally:
        served.stop()


def with_zulip(settings: Settings, zulip: FakeZulip) -> Settings:
    """The settings a deployment would load with ZULIP_URL (plain http: the fake), ZULIP_BOT_EMAIL and
    ZULIP_API_KEY pointing at the fake."""
    return msgspec.structs.replace(
        settings, zulip=ZulipSettings(url=zulip.base_url, bot_email=BOT_EMAIL, api_key=API_KEY, timeout_s=5)
    )


@pytest.fixture
async def zulip_settings(settings: Settings, zulip: FakeZulip) -> Settings:
    return with_zulip(settings, zulip)


@pytest.fixture
async def posting(clean: Services, zulip_settings: Settings) -> AsyncIterator[Services]:
    """Every service built by the composition root with the Zulip settings, over the test's connections."""
    services = wire(zulip_settings, clean.redis, clean.bus, clean.storage, clean.queue)
    try:
        yield services
    finally:
        await services.zulip.close()


async def post_queued(services: Services) -> None:
    """Run the automatic posts queued so far as a worker does: an arq worker in this process, in burst mode
    (until the queue is empty, retries included)."""
    from arq.worker import Worker, func

    from reflector.adapters.queue import redis_settings
    from reflector.domain.zulip.jobs import POST

    assert services.settings.redis.url is not None
    worker = Worker(
        functions=[func(POST.function, name=POST.name, timeout=POST.timeout_s, max_tries=POST.max_tries)],
        queue_name=POST.queue_name,
        redis_settings=redis_settings(services.settings.redis.url),
        ctx={"zulip": services.zulip},
        burst=True,
        handle_signals=False,
        poll_delay=0.05,
    )
    try:
        await worker.main()
    finally:
        await worker.close()
