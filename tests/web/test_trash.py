"""The Trash page in a real browser: a transcript deleted from its page waits in the Trash, comes back with
its recording playable when restored, and goes for good only after a second "Delete forever"."""

import pytest
from playwright.async_api import Page, expect

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import TranscriptNotFound
from tests.web.conftest import SCREENSHOTS, no_serious_violations
from tests.web.test_transcript import Recording, _meeting, recording  # noqa: F401 - fixture

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


async def _screenshots(page: Page, name: str) -> None:
    """The page at the issue's two widths, kept with the other web tests' screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    await page.set_viewport_size({"width": 1366, "height": 900})


async def test_delete_then_restore_from_the_trash(page: Page, clean: Services, recording: Recording) -> None:  # noqa: F811
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")
    await page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this transcript?")
    await expect(dialog).to_contain_text("restore it for 30 days")
    await dialog.get_by_role("button", name="Move to Trash").click()
    await page.wait_for_url("**/browse")
    await expect(page.get_by_text("Callers from Chicago")).to_have_count(0)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
    await page.wait_for_url("**/transcripts/trash")
    item = page.get_by_role("listitem").filter(has_text="Callers from Chicago")
    await expect(item).to_contain_text("deleted for good")
    await no_serious_violations(page)
    await _screenshots(page, "trash")

    await item.get_by_role("button", name="Restore Callers from Chicago").click()
    notice = page.get_by_role("status")
    await expect(notice).to_contain_text("Restored Callers from Chicago")
    await expect(page.get_by_text("Your Trash is empty.")).to_be_visible()
    await notice.get_by_role("link", name="Callers from Chicago").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Callers from Chicago")
    await expect(page.locator("#topics")).to_contain_text("Greetings")
    audio = await page.request.get(f"/v1/transcripts/{transcript_id}/audio/mp3")
    assert audio.status == 200 and await audio.body() == recording.mp3


async def test_delete_forever_asks_first(page: Page, clean: Services, recording: Recording) -> None:  # noqa: F811
    transcript_id = await _meeting(clean, recording)
    await clean.transcripts.delete(transcript_id)
    await page.goto("/transcripts/trash")

    await page.get_by_role("button", name="Delete forever Callers from Chicago").click()
    dialog = page.get_by_role("dialog", name="Delete “Callers from Chicago” forever?")
    await expect(dialog).to_contain_text("This cannot be undone.")
    await _screenshots(page, "trash-delete-forever")
    await dialog.get_by_role("link", name="Keep it").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    assert (await clean.transcripts.in_trash(transcript_id)).id == transcript_id

    await page.get_by_role("button", name="Delete forever Callers from Chicago").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete forever").click()
    await expect(page.get_by_text("Your Trash is empty.")).to_be_visible()
    with pytest.raises(TranscriptNotFound):
        await clean.transcripts.in_trash(transcript_id)
    assert await clean.storage.list_keys(f"transcripts/{transcript_id}/") == []
