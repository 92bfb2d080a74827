"""Every page under the strict Content-Security-Policy, in a real browser: nothing it loads or does is refused,
including what htmx swaps in, so the policy costs the pages nothing."""

import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from reflector.bootstrap import Services
from reflector.domain.auth.limits import API_KEY_CREATION, count_key_creation
from reflector.domain.auth.models import LOCAL_USER_ID
from reflector.domain.processing import repository as runs_table
from reflector.pipelines import audio
from tests.web.test_correct import _processed
from tests.web.test_processing import _queued
from tests.web.test_transcript import SAMPLE, Recording, _meeting

# A page's CSP violations reach its console too, but only as free text: report each one explicitly.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("Refused to load " + event.blockedURI + " (" + event.violatedDirective + ")");
});
"""
REFUSALS = ("Content Security Policy", "Refused to")


@pytest.fixture(scope="module")
def recording() -> Recording:
    decoded = audio.decode(SAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = audio.encode_mp3(decoded, Path(tmp) / "audio.mp3").read_bytes()
    return Recording(mp3=mp3, peaks=audio.waveform(decoded), seconds=audio.duration_of(decoded))


@pytest.fixture
async def watched(page: Page) -> AsyncIterator[Page]:
    """The tab, failing the test at its end if anything on it was refused by the policy or threw."""
    problems: list[str] = []
    page.on(
        "console", lambda message: problems.append(message.text) if any(r in message.text for r in REFUSALS) else None
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    await page.add_init_script(REPORT_VIOLATIONS)
    yield page
    assert problems == []


async def test_browse_and_its_search(watched: Page, clean: Services, recording: Recording) -> None:
    await _meeting(clean, recording)
    await watched.goto("/browse")
    row = watched.get_by_role("link", name="Callers from Chicago")
    await expect(row).to_be_visible()
    await watched.get_by_role("searchbox").fill("nobody said this")
    await expect(watched.get_by_text("No transcripts match")).to_be_visible()
    await expect(row).to_be_hidden()


async def test_new_transcript(watched: Page, clean: Services) -> None:
    await watched.goto("/transcripts/new")
    await expect(watched.get_by_role("heading", name="New transcript")).to_be_visible()
    await watched.get_by_label("Name").fill("Two speakers")


async def test_transcript_page_title_edit_and_topic_markers(
    watched: Page, clean: Services, recording: Recording
) -> None:
    transcript_id = await _meeting(clean, recording)
    await watched.goto(f"/transcripts/{transcript_id}")
    # The markers sit along the waveform in the order of their topics (placed by script, not a style attribute).
    markers = watched.locator(".marker")
    await expect(markers).to_have_count(2)
    first, second = [await m.bounding_box() for m in await markers.all()]
    assert first and second and first["x"] < second["x"]
    await watched.get_by_role("link", name="Edit title").click()
    title = watched.get_by_label("Title")
    await expect(title).to_be_focused()
    await title.fill("Something else")
    await watched.keyboard.press("Escape")
    await expect(watched.get_by_role("heading", level=1)).to_have_text("Callers from Chicago")


async def test_correct_page_rename(watched: Page, clean: Services) -> None:
    transcript_id = await _processed(clean)
    await watched.goto(f"/transcripts/{transcript_id}/correct")
    await watched.get_by_label("Speaker 1", exact=True).fill("Ana")
    await watched.get_by_role("button", name="Rename Speaker 1").click()
    await expect(watched.get_by_role("status")).to_have_text("Speaker 1 is now Ana.")


async def test_processing_page_follows_the_run(watched: Page, clean: Services) -> None:
    transcript_id, run_id = await _queued(clean)
    await watched.goto(f"/transcripts/{transcript_id}/processing")
    await expect(watched.locator("[data-run-headline]")).to_have_text("Waiting for a worker to start.")
    assert await runs_table.claim(run_id, clean.runs.stale_after_s, "test") is not None
    await runs_table.update(run_id, {"step": "transcribe", "progress": 0.04})
    await clean.transcripts.set_status(transcript_id, "processing")
    await expect(watched.locator("[data-run-headline]")).to_have_text("Processing: Transcribe speech")


async def test_settings_create_key(watched: Page, clean: Services) -> None:
    await watched.goto("/settings/api-keys")
    await watched.get_by_label("Name").fill("Nightly export")
    await watched.get_by_role("button", name="Create key").click()
    await expect(watched.get_by_role("heading", name="Your new key “Nightly export”")).to_be_visible()
    # The hour's allowance spent, the refusal (429) is swapped in next to the form, keeping the typed name.
    for _ in range(API_KEY_CREATION.allowance - 1):
        await count_key_creation(clean.redis, LOCAL_USER_ID)
    await watched.get_by_label("Name").fill("One too many")
    await watched.get_by_role("button", name="Create key").click()
    await expect(watched.get_by_role("alert")).to_have_text("Too many API keys created; try again in 60 minutes")
    await expect(watched.get_by_label("Name")).to_have_value("One too many")


async def test_not_found_page(watched: Page, clean: Services) -> None:
    answer = await watched.goto("/no/such/page")
    assert answer is not None and answer.status == 404
    await expect(watched.get_by_role("heading", level=1)).to_be_visible()
    await watched.get_by_role("link", name="Browse transcripts").click()
    await expect(watched).to_have_url(re.compile(r"/browse$"))
