"""A person's whole visit, with a real worker and the real models: upload a recording through the page,
watch it process, read it, name a speaker, fix the summary, seek, export, and find it again on Browse."""

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from reflector.bootstrap import Services
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess
from tests.paths import REAL
from tests.web.conftest import screenshots

pytestmark = pytest.mark.slow


async def test_upload_watch_read_correct_and_find_a_meeting(
    page: Page, clean: Services, settings: Settings, served: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        await page.goto("/transcripts/new")
        await page.get_by_label("Name").fill("Diane and Sheila")
        await page.get_by_label("Recording").set_input_files(REAL / "two_speakers_sample.wav")
        await page.get_by_role("button", name="Upload and transcribe").click()
        await page.wait_for_url("**/transcripts/*/processing")
        await screenshots(page, "story-processing")
        # The processing view sends the browser on to the transcript when it ends.
        await page.wait_for_url(lambda url: not url.endswith("/processing"), timeout=600_000)
    finally:
        worker.stop()
    transcript_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert (await clean.transcripts.get(transcript_id)).status == "ended", worker.log()[-3000:]

    title = page.get_by_role("heading", level=1)
    await expect(title).not_to_have_text("")
    await expect(page.locator(".w").first).to_be_visible()
    text = page.locator("#text")
    # Sheila introduces herself ("And I'm Sheila in Texas"): the meeting names her voice, and says why.
    speakers = page.get_by_role("list", name="Speakers")
    await expect(speakers).to_contain_text("Sheila")
    await screenshots(page, "story-transcript")
    await speakers.get_by_text("named from the meeting: why?").click()
    await expect(speakers).to_contain_text("I'm Sheila")
    # Taken back (the voice also says Diane's lines on this recording), the voices are numbered again.
    await page.get_by_role("button", name="Not Sheila: undo").click()
    await expect(text).to_contain_text("Speaker 1")
    await expect(text).to_contain_text("Speaker 2")
    await expect(speakers).not_to_contain_text("Sheila")

    # Seek by clicking a word.
    word = page.locator(".w", has_text="Chicago").first
    start = float(await word.get_attribute("data-start") or "nan")
    await word.click()
    assert await page.evaluate("document.querySelector('audio').currentTime") == pytest.approx(start, abs=0.05)

    # Name the first speaker on the correction page; the transcript and the export follow.
    await page.get_by_role("link", name="Correct speakers").click()
    await page.get_by_label("Speaker 1", exact=True).fill("Diane")
    await page.get_by_role("button", name="Rename Speaker 1").click()
    await expect(page.get_by_role("status")).to_have_text("Speaker 1 is now Diane.")
    await page.goto(f"/transcripts/{transcript_id}")
    await expect(page.locator("#text")).to_contain_text("Diane")
    async with httpx.AsyncClient(base_url=served) as client:
        export = await client.get(f"/v1/transcripts/{transcript_id}/export", params={"format": "txt"})
    assert "Diane: " in export.text

    # Fix the summary inline.
    await page.get_by_role("link", name="Edit summary").click()
    await page.get_by_label("Short summary").fill("Two callers from Chicago say hello.")
    await page.get_by_role("button", name="Save summary").click()
    await expect(page.locator("#summary")).to_contain_text("Two callers from Chicago say hello.")
    assert (await clean.transcripts.get(transcript_id)).short_summary == "Two callers from Chicago say hello."

    # Find it again by a word that was said.
    await page.goto("/browse")
    await page.get_by_label("Search transcripts").fill("Chicago")
    await page.get_by_role("button", name="Search").click()
    row = page.locator(f"a[href='/transcripts/{transcript_id}']")
    await expect(row).to_be_visible()
