"""The Browse page in a real browser: pages of 20, search with highlighted words, filters kept in the URL,
reprocess and delete from a row, rows that follow live events, with and without JavaScript."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript, TranscriptNotFound
from tests.paths import REAL
from tests.web.conftest import no_serious_violations, screenshots

FIRST_DAY = datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
KINDS = ("file", "live", "room")
STATUSES = ("ended", "ended", "error", "idle", "ended")


def _words(text: str) -> list[dict]:
    return [{"text": word, "start": i * 0.5, "end": i * 0.5 + 0.4, "speaker": 0} for i, word in enumerate(text.split())]


async def _seed(services: Services) -> dict[str, str]:
    """25 transcripts, one a day from FIRST_DAY (newest last), of every source kind and several statuses.

    "Meeting 07" talks about a zeppelin, with markup in its words that must show as text.
    """
    ids = {}
    for i in range(25):
        name = f"Meeting {i + 1:02d}"
        created = await services.transcripts.create(NewTranscript(name=name, source_kind=KINDS[i % 3], user_id="local"))
        await transcripts_table.update(
            created.id,
            {"created_at": FIRST_DAY + timedelta(days=i), "status": STATUSES[i % 5], "duration": 3_723_000},
        )
        ids[name] = created.id
    spoken = "We reviewed the <b>zeppelin</b> hangar plans and the budget for next quarter"
    await services.transcripts.replace_topics(
        ids["Meeting 07"],
        [{"title": "Hangar", "summary": "", "timestamp": 0.0, "duration": 6.0, "words": _words(spoken)}],
    )
    await services.editor.refresh_text(ids["Meeting 07"])
    return ids


def _rows(page: Page):
    return page.locator(".browse-row")


def _row(page: Page, name: str):
    return _rows(page).filter(has=page.get_by_role("link", name=name, exact=True))


async def test_twenty_a_page_then_the_rest_and_the_page_survives_a_reload(page: Page, clean: Services) -> None:
    await _seed(clean)
    await page.goto("/browse")
    await expect(_rows(page)).to_have_count(20)
    await expect(page.get_by_role("status")).to_have_text("25 transcripts, showing 1–20")
    newest = _rows(page).first
    await expect(newest.get_by_role("link")).to_have_text("Meeting 25")
    await expect(newest).to_contain_text("✓ Ended")
    await expect(newest).to_contain_text("Uploaded file")
    await expect(newest).to_contain_text("1:02:03")  # 3,723,000 ms
    await expect(newest).to_contain_text("Mar 25, 2025")  # local date, formatted by the browser
    await expect(_row(page, "Meeting 24")).to_contain_text("Room")
    await expect(_row(page, "Meeting 24")).to_contain_text("Idle")
    await expect(_row(page, "Meeting 23")).to_contain_text("Error")
    await no_serious_violations(page)
    await screenshots(page, "browse-results")

    await page.get_by_role("link", name="Next").click()
    await expect(page).to_have_url("/browse?page=2")
    await expect(_rows(page)).to_have_count(5)
    await page.reload()
    await expect(_rows(page)).to_have_count(5)
    await expect(_rows(page).last.get_by_role("link")).to_have_text("Meeting 01")
    await page.go_back()
    await expect(page).to_have_url("/browse")
    await expect(_rows(page)).to_have_count(20)


async def test_search_finds_the_word_and_marks_it_without_trusting_the_text(page: Page, clean: Services) -> None:
    await _seed(clean)
    await page.goto("/browse")
    await page.get_by_label("Search transcripts").fill("zeppelins")
    await page.get_by_role("button", name="Search").click()

    await expect(page).to_have_url("/browse?q=zeppelins")
    await expect(_rows(page)).to_have_count(1)
    row = _row(page, "Meeting 07")
    await expect(row.locator("mark")).to_have_text(["zeppelin"])  # the stem matched
    await expect(row.locator(".browse-snippet")).to_contain_text("the <b>zeppelin</b> hangar")
    assert await row.locator("b").count() == 0
    await expect(page.get_by_role("status")).to_have_text("1 result for “zeppelins”")
    await page.reload()
    await expect(page.get_by_label("Search transcripts")).to_have_value("zeppelins")
    await expect(_rows(page)).to_have_count(1)

    await page.get_by_label("Search transcripts").fill("submarine")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", name="No transcripts match “submarine”")).to_be_visible()
    await no_serious_violations(page)
    await screenshots(page, "browse-no-results")
    await page.get_by_role("link", name="Clear search and filters").first.click()
    await expect(page).to_have_url("/browse")
    await expect(_rows(page)).to_have_count(20)


async def test_filters_narrow_the_rows_and_live_in_the_url(page: Page, clean: Services) -> None:
    await _seed(clean)
    await page.goto("/browse")
    await page.get_by_label("Status").select_option("error")
    await expect(page).to_have_url("/browse?status=error")
    await expect(_rows(page)).to_have_count(5)  # Meetings 03, 08, 13, 18, 23

    await page.get_by_label("Live").check()
    await expect(page).to_have_url("/browse?source=live&status=error")
    # Of the errors (i = 2, 7, 12, 17, 22) the live ones (i % 3 == 1) are Meetings 08 and 23.
    await expect(_rows(page).get_by_role("link")).to_have_text(["Meeting 23", "Meeting 08"])

    await page.get_by_label("All").check()
    await page.get_by_label("From").fill("2025-03-10")
    await page.get_by_label("To").fill("2025-03-20")
    await expect(page).to_have_url("/browse?status=error&from=2025-03-10&to=2025-03-20")
    await expect(_rows(page).get_by_role("link")).to_have_text(["Meeting 18", "Meeting 13"])

    await page.reload()
    await expect(page.get_by_label("Status")).to_have_value("error")
    await expect(page.get_by_label("From")).to_have_value("2025-03-10")
    await expect(_rows(page)).to_have_count(2)


async def test_a_wrong_filter_in_the_url_is_said_and_left_out(page: Page, clean: Services) -> None:
    await _seed(clean)
    await page.goto("/browse?status=finished&from=yesterday&page=x")
    await expect(page.get_by_role("alert").first).to_have_text("There is no status “finished”; showing every status.")
    await expect(page.get_by_role("alert").nth(1)).to_contain_text("“From” must be a date like 2025-01-31")
    await expect(_rows(page)).to_have_count(20)


async def test_no_transcripts_at_all_offers_a_new_one(page: Page, clean: Services) -> None:
    await page.goto("/browse")
    await expect(page.get_by_role("heading", name="No transcripts yet")).to_be_visible()
    await expect(page.get_by_role("link", name="New transcript").last).to_have_attribute("href", "/transcripts/new")
    await no_serious_violations(page)
    await screenshots(page, "browse-empty")


async def test_reprocess_queues_a_run_and_the_row_shows_processing(page: Page, clean: Services) -> None:
    created = await clean.transcripts.create(NewTranscript(name="Moon speech", user_id="local"))
    await clean.transcripts.store_upload(created.id, REAL / "jfk.flac")
    await clean.transcripts.set_status(created.id, "ended")
    silent = await clean.transcripts.create(NewTranscript(name="Nothing recorded", user_id="local"))

    await page.goto("/browse")
    row = _row(page, "Moon speech")
    await expect(row).to_contain_text("Ended")
    await row.get_by_role("button", name="Reprocess").click()
    await expect(row).to_contain_text("⚙ Processing")
    await expect(row.get_by_role("button", name="Reprocess")).to_be_disabled()
    assert await clean.runs.active_run(created.id) is not None

    await _row(page, "Nothing recorded").get_by_role("button", name="Reprocess").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "“Nothing recorded” — this transcript has no recording to process yet: upload or record one first."
    )
    assert await clean.runs.active_run(silent.id) is None


async def test_delete_asks_first_then_removes_the_row_and_the_transcript(page: Page, clean: Services) -> None:
    ids = await _seed(clean)
    await page.goto("/browse?source=file")
    row = _row(page, "Meeting 22")
    await row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this transcript?")
    await expect(dialog).to_contain_text("Meeting 22")
    await expect(dialog).to_contain_text("Uploaded file")
    await expect(dialog).to_contain_text("Mar 22, 2025")
    await screenshots(page, "browse-delete-dialog")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_have_count(1)

    await row.get_by_role("button", name="Delete").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    await expect(page).to_have_url("/browse?source=file")
    await expect(_rows(page)).to_have_count(8)
    with pytest.raises(TranscriptNotFound):
        await clean.transcripts.get(ids["Meeting 22"])


async def test_without_javascript_search_and_delete_are_plain_forms(
    browser: Browser, served: str, clean: Services
) -> None:
    ids = await _seed(clean)
    context = await browser.new_context(base_url=served, java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto("/browse")
        await page.get_by_label("Search transcripts").fill("zeppelin")
        await page.get_by_role("button", name="Search").click()
        await expect(page).to_have_url("/browse?q=zeppelin&source=&status=&from=&to=")
        await expect(_rows(page)).to_have_count(1)

        await _row(page, "Meeting 07").get_by_role("button", name="Delete").click()
        dialog = page.get_by_role("dialog", name="Delete this transcript?")
        await expect(dialog).to_contain_text("Meeting 07")
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page).to_have_url("/browse?q=zeppelin")
        await expect(page.get_by_role("heading", name="No transcripts match “zeppelin”")).to_be_visible()
        with pytest.raises(TranscriptNotFound):
            await clean.transcripts.get(ids["Meeting 07"])
    finally:
        await context.close()


async def test_rows_follow_status_changes_without_a_reload(page: Page, clean: Services) -> None:
    standup = await clean.transcripts.create(NewTranscript(name="Standup", user_id="local"))
    review = await clean.transcripts.create(NewTranscript(name="Review", user_id="local"))
    for transcript in (standup, review):
        await clean.transcripts.set_status(transcript.id, "processing")
    async with page.expect_websocket(lambda socket: socket.url.endswith("/v1/events")):
        await page.goto("/browse")
    await expect(_row(page, "Standup")).to_contain_text("⚙ Processing")
    await expect(_row(page, "Standup").get_by_role("button", name="Reprocess")).to_be_disabled()
    await asyncio.sleep(0.3)  # the socket's handshake ends after the page asked for it

    await clean.transcripts.set_status(standup.id, "ended")
    await expect(_row(page, "Standup")).to_contain_text("✓ Ended")
    await expect(_row(page, "Standup").get_by_role("button", name="Reprocess")).to_be_enabled()
    # Straight after: a change that follows closely is not lost.
    await clean.transcripts.set_status(review.id, "error", "The recording has no speech")
    await expect(_row(page, "Review")).to_contain_text("✕ Error")
    await clean.transcripts.create(NewTranscript(name="Retro", user_id="local"))
    await expect(_rows(page).first.get_by_role("link")).to_have_text("Retro")
