"""The Processing view in a real browser: the steps follow the run's PROGRESS events, a failure shows the
server's sentence and a Retry that queues a new run, and the end of processing opens the transcript."""

import re

from playwright.async_api import Page, expect

from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.processing import repository as runs_table
from reflector.domain.processing.service import options_for
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript
from tests.paths import REAL
from tests.web.conftest import no_serious_violations, screenshots

SAMPLE = REAL / "two_speakers_sample.wav"


async def _queued(services: Services) -> tuple[str, str]:
    """An uploaded transcript whose processing run waits for a worker: (transcript id, run id)."""
    created = await services.transcripts.create(NewTranscript(name="Two speakers", user_id="local"))
    await services.transcripts.store_upload(created.id, SAMPLE)
    run, queued = await services.runs.request(created.id, options_for(created))
    assert queued
    return created.id, run.id


def _step(page: Page, label: str):
    return page.get_by_role("listitem").filter(has_text=label)


async def _until_shown(page: Page, services: Services, transcript_id: str, data: dict, shown: str) -> None:
    """Publish a PROGRESS event until the page shows it: the page's socket may not be subscribed yet."""
    for _ in range(120):
        await services.transcripts.emit(transcript_id, parse("PROGRESS", data))
        try:
            await expect(page.get_by_text(shown)).to_be_visible(timeout=250)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the page never showed {shown!r}")


async def test_the_steps_follow_the_runs_progress_live_and_after_a_reload(page: Page, clean: Services) -> None:
    transcript_id, run_id = await _queued(clean)
    await page.goto(f"/transcripts/{transcript_id}/processing")
    await expect(page.locator("[data-run-headline]")).to_have_text("Waiting for a worker to start.")
    await expect(_step(page, "Transcribe speech")).to_contain_text("Waiting")
    await expect(page.get_by_role("link", name="Browse").last).to_be_visible()

    # A worker takes the run and finishes decoding, as the pipeline's jobs do.
    assert await runs_table.claim(run_id, clean.runs.stale_after_s, "test") is not None
    await runs_table.record_step(run_id, "decode", 0.5)
    await runs_table.update(run_id, {"step": "transcribe", "progress": 0.04})
    await clean.transcripts.set_status(transcript_id, "processing")
    await expect(page.locator("[data-run-headline]")).to_have_text("Processing: Transcribe speech")
    await expect(page.get_by_role("status")).to_have_text("Processing: Transcribe speech")  # read out
    await expect(_step(page, "Read the audio")).to_contain_text("Done")

    progress = {"step": "transcribe", "fraction": 0.5, "overall": 0.22, "eta_seconds": 120}
    await _until_shown(page, clean, transcript_id, progress, "About 2 minutes left")
    await expect(_step(page, "Transcribe speech")).to_contain_text("50%")
    await expect(page.locator("[data-overall-percent]")).to_have_text("22%")
    await clean.transcripts.emit(
        transcript_id, parse("PROGRESS", {"step": "diarize", "fraction": 0.25, "overall": 0.28, "eta_seconds": 30})
    )
    await expect(_step(page, "Tell the speakers apart")).to_contain_text("25%")
    await expect(page.get_by_text("Less than a minute left")).to_be_visible()
    await screenshots(page, "processing-running")
    await no_serious_violations(page)

    # A reload renders where the run stands from its row.
    await runs_table.update(run_id, {"progress": 0.22})
    await page.reload()
    await expect(page.locator("[data-run-headline]")).to_have_text("Processing: Transcribe speech")
    await expect(_step(page, "Read the audio")).to_contain_text("Done")
    await expect(_step(page, "Transcribe speech")).to_contain_text("50%")
    await expect(page.locator("[data-overall-percent]")).to_have_text("22%")


async def test_a_failure_shows_the_servers_sentence_and_retry_queues_a_new_run(page: Page, clean: Services) -> None:
    transcript_id, run_id = await _queued(clean)
    await page.goto(f"/transcripts/{transcript_id}/processing")
    await expect(page.locator("[data-run-headline]")).to_have_text("Waiting for a worker to start.")

    # How a job fails: the run first, then the transcript's status with the sentence for people.
    sentence = "The recording could not be decoded: the file is damaged after 00:12. Upload it again."
    await runs_table.update(run_id, {"status": "failed", "error": sentence, "step": "decode"})
    await clean.transcripts.set_status(transcript_id, "error", sentence)
    await expect(page.get_by_text(sentence)).to_be_visible()
    await expect(_step(page, "Read the audio")).to_contain_text("Failed")
    await expect(_step(page, "Transcribe speech")).to_contain_text("Not run")
    retry = page.get_by_role("button", name="Retry")
    await expect(retry).to_be_visible()
    # The failed run's last PROGRESS can arrive after its STATUS: no time left is shown, no bar moves.
    late = {"step": "transcribe", "fraction": 0.5, "overall": 0.3, "eta_seconds": 20}
    await clean.transcripts.emit(transcript_id, parse("PROGRESS", late))
    await page.wait_for_timeout(500)
    await expect(page.locator("[data-eta]")).to_have_text("")
    await expect(_step(page, "Transcribe speech")).to_contain_text("Not run")
    await screenshots(page, "processing-error")
    await no_serious_violations(page)

    await retry.click()
    await expect(page.locator("[data-run-headline]")).to_have_text("Waiting for a worker to start.")
    await expect(page.get_by_text(sentence)).to_have_count(0)
    latest = await clean.runs.latest(transcript_id)
    assert latest is not None and latest.id != run_id and latest.status == "queued"

    await clean.transcripts.set_status(transcript_id, "ended")
    await page.wait_for_url(re.compile(rf"/transcripts/{transcript_id}$"))


async def test_a_transcript_without_a_recording_says_so_and_a_finished_one_opens(page: Page, clean: Services) -> None:
    empty = await clean.transcripts.create(NewTranscript(name="Nothing yet", user_id="local"))
    await page.goto(f"/transcripts/{empty.id}/processing")
    await expect(page.locator("[data-run-headline]")).to_have_text("No recording has been uploaded yet.")
    await expect(page.get_by_role("link", name="Upload a recording")).to_have_attribute("href", "/transcripts/new")

    await transcripts_table.update(empty.id, {"status": "ended"})
    await page.goto(f"/transcripts/{empty.id}/processing")
    assert page.url.endswith(f"/transcripts/{empty.id}")
