"""The transcript page's "Share to Zulip" form in a real browser, against a fake Zulip on 127.0.0.1: the
owner sends the transcript to a stream, sends it again (the message is edited, not posted twice), and is
told in a sentence when Zulip refuses."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services, wire
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.platforms.fake_server import Served
from tests.web.conftest import no_serious_violations, screenshots
from tests.zulip.conftest import with_zulip
from tests.zulip.zulip_fake import FakeZulip


@pytest.fixture
async def fake_zulip() -> AsyncIterator[FakeZulip]:
    fake = FakeZulip()
    served = Served(fake).start()
    yield fake
    served.stop()


@pytest.fixture
async def posting(clean: Services, settings: Settings, fake_zulip: FakeZulip) -> AsyncIterator[Services]:
    services = wire(with_zulip(settings, fake_zulip), clean.redis, clean.bus, clean.storage, clean.queue)
    yield services
    await services.zulip.close()


@pytest.fixture
async def tab(browser: Browser, posting: Services, settings: Settings, fake_zulip: FakeZulip) -> AsyncIterator[Page]:
    async with serve(create_app(with_zulip(settings, fake_zulip), services=posting)) as url:
        context = await browser.new_context(base_url=url, viewport={"width": 1366, "height": 900})
        yield await context.new_page()
        await context.close()


async def test_the_owner_shares_a_transcript_to_zulip_from_its_page(
    tab: Page, posting: Services, fake_zulip: FakeZulip
) -> None:
    t = await posting.transcripts.create(NewTranscript(name="Weekly sync"))
    await posting.transcripts.replace_topics(
        t.id, [{"title": "Budget", "summary": "Approved.", "timestamp": 3.0, "duration": 9.0, "words": []}]
    )
    await posting.transcripts.update(
        t.id, TranscriptChanges(title="Weekly sync", long_summary="The budget was approved.", duration=12_000)
    )
    await tab.goto(f"/transcripts/{t.id}")

    zulip = tab.locator("#zulip")
    await zulip.get_by_text("Share to Zulip").click()
    await zulip.get_by_label("Stream", exact=True).fill("meetings")
    await zulip.get_by_label("Topic", exact=True).fill("weekly")
    await zulip.get_by_label("Include topics").check()
    await zulip.get_by_role("button", name="Send to Zulip").click()

    await expect(zulip.get_by_role("status")).to_have_text("Sent to #meetings › weekly")
    [message] = fake_zulip.messages.values()
    assert message.content.startswith("# Reflector – Weekly sync") and "1. [0:00:03] Budget" in message.content
    await expect(tab.get_by_role("list", name="Posted to Zulip")).to_contain_text("#meetings › weekly")
    await screenshots(tab, "transcript-zulip-sent")
    await no_serious_violations(tab)

    # Sent again from the form as the page left it (stream and topic kept): the one message is edited.
    await zulip.get_by_role("button", name="Send to Zulip").click()
    await expect(zulip.get_by_role("status")).to_have_text("Sent to #meetings › weekly")
    assert list(fake_zulip.messages) == [message.id] and len(message.edits) == 1

    await zulip.get_by_label("Stream", exact=True).fill("nowhere")
    await zulip.get_by_role("button", name="Send to Zulip").click()
    await expect(zulip.get_by_role("alert")).to_contain_text("Stream 'nowhere' does not exist")
    await expect(zulip.get_by_label("Stream", exact=True)).to_have_value("nowhere")
    assert len(fake_zulip.messages) == 1
    await screenshots(tab, "transcript-zulip-refused")
