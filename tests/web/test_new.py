"""The New transcript page in a real browser: a recording goes up in chunks with a progress bar, an
interrupted upload resumes with only the missing chunks, and refused files are explained beside the input."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from playwright.async_api import Browser, Page, Request, Route, expect

from reflector.bootstrap import Services, wire
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.paths import REAL
from tests.web.conftest import WIDTHS, no_serious_violations, screenshots

SAMPLE = REAL / "two_speakers_sample.wav"  # 960,104 bytes
CHUNK = 256 * 1024  # four chunks of the sample
CHUNK_REQUEST = re.compile(r"/record/upload\?chunk_number=(\d+)")
PROCESSING = re.compile(r"/transcripts/[^/]+/processing$")
# Test-only knobs the form reads: small chunks, and retries that do not keep a test waiting.
SMALL_CHUNKS = f"f => {{ f.dataset.chunkBytes = '{CHUNK}'; f.dataset.retryMs = '50'; }}"
# Every value the upload bar shows, kept across the navigation that ends an upload.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const percent = document.querySelector("[data-upload-percent]");
  if (!percent) return;
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
    sessionStorage.setItem("seen", JSON.stringify([...seen, percent.textContent]));
  }).observe(percent, { childList: true, characterData: true, subtree: true });
});
"""


def _chunk_numbers(requests: list[Request]) -> list[int]:
    return [int(m[1]) for r in requests if (m := CHUNK_REQUEST.search(r.url))]


def _track_chunks(page: Page) -> list[Request]:
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if CHUNK_REQUEST.search(request.url) else None)
    return sent


def _transcript_id(page: Page) -> str:
    return page.url.rstrip("/").split("/")[-2]


async def _no_transcripts_left(services: Services) -> None:
    for _ in range(50):
        if not await services.transcripts.list_recent():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"transcripts left: {await services.transcripts.list_recent()}")


async def _stored_upload(services: Services, transcript_id: str, tmp_path: Path) -> bytes:
    key = await services.transcripts.upload_of(transcript_id)
    await services.storage.download(key, tmp_path / "upload")
    return (tmp_path / "upload").read_bytes()


async def test_a_recording_goes_up_in_chunks_and_lands_on_the_processing_view(
    page: Page, clean: Services, tmp_path: Path
) -> None:
    await page.add_init_script(RECORD_PROGRESS)
    await page.goto("/transcripts/new")
    await expect(page.get_by_role("heading", name="New transcript")).to_be_visible()
    await expect(page.get_by_label("Spoken language")).to_have_value("en")
    await screenshots(page, "new-empty")
    await no_serious_violations(page)

    await page.locator("form#new-transcript").evaluate(SMALL_CHUNKS)
    await page.get_by_label("Name").fill("Two speakers")
    await page.get_by_label("Participants").fill("Maria, Tom,, Maria ")
    await page.get_by_label("Recording").set_input_files(SAMPLE)
    sent = _track_chunks(page)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold_third_chunk(route: Route) -> None:
        held.set()
        await release.wait()
        await route.continue_()

    await page.route("**/record/upload?chunk_number=2*", hold_third_chunk)
    await page.get_by_role("button", name="Upload and transcribe").click()
    await held.wait()
    await expect(page.locator("[data-upload-percent]")).to_have_text(re.compile(r"^(5\d|6\d|7\d)%$"))
    await expect(page.get_by_role("status")).to_contain_text("Uploading")
    await screenshots(page, "new-uploading")
    await no_serious_violations(page)
    release.set()

    await page.wait_for_url(PROCESSING)
    transcript_id = _transcript_id(page)
    assert _chunk_numbers(sent) == [0, 1, 2, 3]
    seen = await page.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
    assert seen[-1] == "100%" and "0%" in seen
    transcript = await clean.transcripts.get(transcript_id)
    assert (transcript.status, transcript.name, transcript.source_kind) == ("uploaded", "Two speakers", "file")
    # Named before processing starts, each once, with no speaker yet: the recognizer listens for them.
    people = await clean.transcripts.participants(transcript_id)
    assert [(p.name, p.speaker) for p in people] == [("Maria", None), ("Tom", None)]
    run = await clean.runs.latest(transcript_id)
    assert run is not None and run.status == "queued"
    assert await _stored_upload(clean, transcript_id, tmp_path) == SAMPLE.read_bytes()


async def test_an_interrupted_upload_resumes_with_only_the_missing_chunks(
    page: Page, clean: Services, tmp_path: Path
) -> None:
    await page.goto("/transcripts/new")
    await page.locator("form#new-transcript").evaluate(SMALL_CHUNKS)
    await page.get_by_label("Recording").set_input_files(SAMPLE)
    sent = _track_chunks(page)
    dropped: list[int] = []

    async def flaky_network(route: Route) -> None:
        number = int(CHUNK_REQUEST.search(route.request.url)[1])  # type: ignore[index]
        # Chunk 1 is lost once (retried and kept); chunk 2 never gets through.
        if number == 2 or (number == 1 and 1 not in dropped):
            dropped.append(number)
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/record/upload?*", flaky_network)
    await page.get_by_role("button", name="Upload and transcribe").click()

    status = page.get_by_role("status")
    await expect(status).to_contain_text(re.compile(r"The upload stopped at \d+%"))
    await expect(page.get_by_role("button", name="Retry upload")).to_be_visible()
    await screenshots(page, "new-upload-stopped")
    assert _chunk_numbers(sent) == [0, 1, 1, 2, 2, 2, 2]
    transcript_id = (await clean.transcripts.list_recent())[0].id

    # The connection is back; the person reloads the page and chooses the same file again.
    await page.unroute("**/record/upload?*")
    await page.reload()
    await expect(page.locator("[data-resume-notice]")).to_contain_text("two_speakers_sample.wav")
    await page.get_by_label("Recording").set_input_files(SAMPLE)
    sent.clear()
    await page.get_by_role("button", name="Resume upload").click()

    await page.wait_for_url(PROCESSING)
    assert _transcript_id(page) == transcript_id
    assert _chunk_numbers(sent) == [2, 3]
    assert (await clean.transcripts.get(transcript_id)).status == "uploaded"
    assert await _stored_upload(clean, transcript_id, tmp_path) == SAMPLE.read_bytes()
    assert len(await clean.transcripts.list_recent()) == 1


async def test_a_file_that_is_not_audio_or_video_is_refused_before_anything_is_sent(
    page: Page, clean: Services
) -> None:
    await page.goto("/transcripts/new")
    sent = _track_chunks(page)
    await page.get_by_label("Recording").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"minutes of the meeting"}
    )
    error = page.locator("#file-error")
    await expect(error).to_have_text(re.compile(r"“notes.txt” is not an audio or video file"))
    await expect(page.get_by_label("Recording")).to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Upload and transcribe").click()
    await expect(error).to_contain_text("notes.txt")
    await screenshots(page, "new-error")
    await no_serious_violations(page)

    # Dropped on the page rather than chosen: the same check.
    await page.get_by_label("Recording").set_input_files([])
    await page.locator("[data-drop-zone]").evaluate(
        """zone => {
          const files = new DataTransfer();
          files.items.add(new File(["a table"], "budget.xlsx", { type: "application/vnd.ms-excel" }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
        }"""
    )
    await expect(error).to_have_text(re.compile(r"“budget.xlsx” is not an audio or video file"))
    assert sent == [] and await clean.transcripts.list_recent() == []


async def test_a_text_file_named_wav_gets_the_servers_no_audio_message(page: Page, clean: Services) -> None:
    await page.goto("/transcripts/new")
    await page.get_by_label("Recording").set_input_files(
        {"name": "meeting.wav", "mimeType": "audio/wav", "buffer": b"not a recording\n" * 100}
    )
    await page.get_by_role("button", name="Upload and transcribe").click()
    await expect(page.locator("#file-error")).to_have_text("File has no audio stream")
    assert page.url.endswith("/transcripts/new")
    await _no_transcripts_left(clean)


@asynccontextmanager
async def _served_with(settings: Settings, services: Services, **limits: Any) -> AsyncIterator[str]:
    """The app on its own port with other server limits (handlers read them from their services)."""
    changed = msgspec.structs.replace(settings, server=msgspec.structs.replace(settings.server, **limits))
    async with serve(
        create_app(changed, services=wire(changed, services.redis, services.bus, services.storage, services.queue))
    ) as url:
        yield url


async def test_a_file_past_the_size_limit_is_refused_with_the_servers_sentence(
    browser: Browser, clean: Services, settings: Settings
) -> None:
    limit = 600_000
    sentence = re.compile(r"^The upload is larger than the limit of 1 MiB \(600000 bytes, MAX_UPLOAD_BYTES\)")
    async with _served_with(settings, clean, max_upload_bytes=limit) as base:
        context = await browser.new_context(
            base_url=base, viewport=dict(zip(("width", "height"), WIDTHS["desktop"], strict=True))
        )
        page = await context.new_page()
        await page.goto("/transcripts/new")
        await page.locator("form#new-transcript").evaluate(SMALL_CHUNKS)
        await page.get_by_label("Recording").set_input_files(SAMPLE)
        # The page knows the limit: it says so at once, sending nothing.
        await expect(page.locator("#file-error")).to_have_text(sentence)
        assert await clean.transcripts.list_recent() == []

        # Were the page's limit stale, the server's 413 says the same, and nothing is kept.
        await page.locator("form#new-transcript").evaluate("f => { delete f.dataset.maxBytes; }")
        await page.get_by_label("Recording").set_input_files(SAMPLE)
        await page.get_by_role("button", name="Upload and transcribe").click()
        await expect(page.locator("#file-error")).to_have_text(sentence)
        await _no_transcripts_left(clean)
        await context.close()

        # Without JavaScript the whole file goes in one request, refused before it is stored.
        context = await browser.new_context(base_url=base, java_script_enabled=False)
        page = await context.new_page()
        await page.goto("/transcripts/new")
        await page.get_by_label("Recording").set_input_files(SAMPLE)
        await page.get_by_role("button", name="Upload and transcribe").click()
        await expect(page.locator("#file-error")).to_have_text(sentence)
        assert await clean.transcripts.list_recent() == []
        await context.close()


async def test_without_javascript_the_form_posts_the_whole_file(browser: Browser, served: str, clean: Services) -> None:
    context = await browser.new_context(base_url=served, java_script_enabled=False)
    page = await context.new_page()
    await page.goto("/transcripts/new")
    await page.get_by_label("Recording").set_input_files(
        {"name": "meeting.wav", "mimeType": "audio/wav", "buffer": b"not a recording\n" * 100}
    )
    await page.get_by_label("Name").fill("Board call")
    await page.get_by_role("button", name="Upload and transcribe").click()
    await expect(page.locator("#file-error")).to_have_text("File has no audio stream")
    await expect(page.get_by_label("Name")).to_have_value("Board call")
    assert await clean.transcripts.list_recent() == []

    await page.get_by_label("Spoken language").select_option("fr")
    await page.get_by_label("Participants").fill("Ana, Bo")
    await page.get_by_label("Recording").set_input_files(SAMPLE)
    await page.get_by_role("button", name="Upload and transcribe").click()
    await page.wait_for_url(PROCESSING)
    transcript_id = _transcript_id(page)
    transcript = await clean.transcripts.get(transcript_id)
    assert (transcript.status, transcript.name, transcript.source_language) == ("uploaded", "Board call", "fr")
    run = await clean.runs.latest(transcript_id)
    assert run is not None and run.status == "queued" and run.options["language"] == "fr"
    assert [p.name for p in await clean.transcripts.participants(transcript_id)] == ["Ana", "Bo"]
    await expect(page.get_by_text("Waiting for a worker to start.")).to_be_visible()
    await context.close()
