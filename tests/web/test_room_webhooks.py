"""A room's Webhooks page in a real browser: "Send test" reaches a local receiver (both signatures checked),
the delivery is listed with its attempt, the filters narrow the list, and "Redeliver" sends the same event
again, under the same webhook-id, through a real worker."""

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services, wire
from reflector.domain.rooms.models import RoomSettings
from reflector.settings import Settings, WebhookSettings
from reflector.web.app import create_app
from tests.integration.webhook_receiver import Receiver
from tests.integration.workers import WorkerProcess
from tests.net import serve
from tests.platforms.fake_server import Served
from tests.web.conftest import no_serious_violations, screenshots

PRIVATE = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "WEBHOOK_RETRY_SCHEDULE": "0.3", "WEBHOOK_TIMEOUT_S": "2"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(secret="")
    served = Served(receiver).start()
    yield receiver
    served.stop()


@pytest.fixture
async def tab(browser: Browser, clean: Services, settings: Settings, tmp_path) -> AsyncIterator[tuple[Page, Services]]:
    private = msgspec.structs.replace(settings, webhooks=WebhookSettings(allow_private_targets=True, timeout_s=2))
    services = wire(private, clean.redis, clean.bus, clean.storage, clean.queue)
    worker = WorkerProcess(settings, tmp_path / "worker.log", "webhooks", env=PRIVATE).start()
    try:
        await worker.serving(clean, "reflector:webhooks")
        async with serve(create_app(private, services=services)) as url:
            context = await browser.new_context(base_url=url, viewport={"width": 1366, "height": 900})
            context.set_default_timeout(15_000)
            yield await context.new_page(), services
            await context.close()
    finally:
        worker.stop()


async def test_send_a_test_filter_and_redeliver_it(tab: tuple[Page, Services], receiver: Receiver) -> None:
    page, services = tab
    room = await services.rooms.create("local", RoomSettings(name="Ops", platform="daily", webhook_url=receiver.url))
    assert room.webhook_secret is not None
    receiver.secret = room.webhook_secret
    await page.goto(f"/rooms/{room.id}/webhooks")
    await expect(page.get_by_role("heading", name="Webhooks of ops")).to_be_visible()
    await expect(page.get_by_text("No deliveries yet.")).to_be_visible()
    assert room.webhook_secret not in await page.content()

    await page.get_by_role("button", name="Send test").click()
    await expect(page.get_by_role("status")).to_have_text("Test sent: the endpoint answered 200.")
    delivery = page.locator(".delivery")
    await expect(delivery).to_have_count(1)
    await expect(delivery).to_contain_text("succeeded")
    await expect(delivery).to_contain_text("1 attempt, last 200")
    [first] = receiver.received
    assert first.reflector_ok and first.standard_ok and first.json()["event"] == "test"
    await delivery.locator("summary").click()
    await expect(delivery.get_by_role("table")).to_contain_text("success")
    await no_serious_violations(page)
    await screenshots(page, "room-webhooks-test-sent")

    await page.get_by_label("Status").select_option("failed")
    await expect(page.get_by_text("No deliveries match these filters yet.")).to_be_visible()
    await page.get_by_label("Status").select_option("succeeded")
    await expect(page.locator(".delivery")).to_have_count(1)

    await page.get_by_role("button", name=f"Redeliver test {first.webhook_id}").click()
    await expect(page.get_by_role("status")).to_contain_text("queued again, under the same webhook-id")
    again = (await receiver.wait_for(2))[1]
    assert again.webhook_id == first.webhook_id and again.request.body == first.request.body
    assert again.reflector_ok and again.standard_ok
    for _ in range(50):  # the worker records the attempt just after the receiver answers
        await page.reload()
        # Until then the delivery is pending again, so the "succeeded" filter shows none: read, never wait.
        if any("2 attempts, last 200" in text for text in await page.locator(".delivery").all_inner_texts()):
            break
        await asyncio.sleep(0.1)
    await expect(page.locator(".delivery")).to_contain_text("2 attempts, last 200")
    await no_serious_violations(page)
    await screenshots(page, "room-webhooks-redelivered")
