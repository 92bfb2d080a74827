"""Recording a meeting from the browser: Chromium's fake microphone plays a meeting into the record page,
captions appear while it plays, and Stop leads to the finished transcript with its speakers and title."""

from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from reflector.bootstrap import Services
from reflector.domain.health import LIVE
from reflector.pipelines import audio
from reflector.pipelines.transcribe import speech_regions
from reflector.pipelines.wav_writer import GrowingWav
from reflector.settings import Settings
from reflector.web.app import create_app
from reflector.web.recording import provide_recordings
from tests.integration.workers import WorkerProcess
from tests.net import serve
from tests.paths import SYNTHETIC
from tests.web.conftest import CHROMIUM, CHROMIUM_FLAGS, screenshots

pytestmark = pytest.mark.slow

SECONDS = 34  # the stand-up's first three speakers


async def _browser_with_microphone(playwright, wav: Path) -> Browser:  # type: ignore[no-untyped-def]
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *flags])


def _meeting(tmp_path: Path) -> Path:
    """The fake microphone's sound (Chromium plays the file in a loop)."""
    wav = tmp_path / "meeting.wav"
    meeting = GrowingWav(wav, 16_000)
    meeting.append(audio.decode(SYNTHETIC / "standup.wav")[: 16_000 * SECONDS])
    meeting.close()
    return wav


async def test_record_a_meeting_see_captions_and_land_on_the_transcript(
    clean: Services, settings: Settings, served: str, tmp_path: Path
) -> None:
    wav = _meeting(tmp_path)
    live = WorkerProcess(settings, tmp_path / "live.log", live=True).start()
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        await live.serving(clean, LIVE)
        async with async_playwright() as playwright:
            browser = await _browser_with_microphone(playwright, wav)
            context = await browser.new_context(base_url=served, viewport={"width": 1366, "height": 900})
            page = await context.new_page()
            await page.goto("/")
            await page.get_by_role("link", name="Record live").click()
            await page.get_by_label("Name").fill("Stand-up, live")
            await page.get_by_role("button", name="Open the recorder").click()
            await page.wait_for_url("**/transcripts/*/record")
            await expect(page.get_by_label("Microphone")).to_be_visible()
            await expect(page.get_by_text("Captions appear here")).to_be_visible()  # a live worker runs

            await page.get_by_role("button", name="Start recording").click()
            await expect(page.get_by_role("status").filter(has_text="Recording")).to_be_visible(timeout=20_000)
            # Captions while the meeting goes on, the first ones within seconds of the speech.
            captions = page.locator("[data-captions] .caption")
            await expect(captions.first).to_be_visible(timeout=20_000)
            await expect(page.locator("[data-captions]")).to_contain_text("billing", timeout=30_000)
            assert await page.locator("[data-elapsed]").text_content() != "00:00"
            await screenshots(page, "record-live")
            await expect(page.locator("[data-elapsed]")).to_have_text(f"00:{SECONDS}", timeout=SECONDS * 1000)
            await page.get_by_role("button", name="Stop").click()

            # Processing, then the transcript, with who said what and a title.
            await page.wait_for_url("**/transcripts/*/processing", timeout=30_000)
            await page.wait_for_url(lambda url: not url.endswith("/processing"), timeout=600_000)
            transcript_id = page.url.rstrip("/").rsplit("/", 1)[1]
            transcript = await clean.transcripts.get(transcript_id)
            assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
            assert transcript.source_kind == "live" and transcript.title
            await expect(page.get_by_role("heading", level=1)).to_have_text(transcript.title)
            text = page.locator("#text")
            await expect(text).to_contain_text("Speaker 1")
            await expect(text).to_contain_text("Speaker 2")
            await expect(text).to_contain_text("rollback")
            await screenshots(page, "record-ended")
            await browser.close()
    finally:
        live.stop()
        worker.stop()
    assert transcript.duration == pytest.approx(SECONDS * 1000, abs=3000)


async def test_a_denied_microphone_says_how_to_allow_it(clean: Services, served: str, browser: Browser) -> None:
    context = await browser.new_context(base_url=served)
    page = await context.new_page()
    # What a browser does when the person (or a policy) refuses the microphone.
    await page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    await page.goto("/transcripts/live")
    await page.get_by_role("button", name="Open the recorder").click()
    await page.get_by_role("button", name="Start recording").click()
    # No live worker runs here: the page says there will be no captions, and that recording still works.
    await expect(page.locator("[data-captions-empty]")).to_contain_text("no live worker is running")
    await expect(page.get_by_role("alert")).to_contain_text("did not allow the microphone")
    await expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    transcript_id = page.url.rstrip("/").rsplit("/", 2)[1]
    assert (await clean.transcripts.get(transcript_id)).status == "idle"
    await context.close()


async def _start_recording(url: str, browser: Browser, *, tab_script: str | None = None) -> Page:
    """A new live transcript's record page, Start pressed; with `tab_script`, a browser tab's audio is
    shared too (the script stands in for the tab)."""
    page = await (await browser.new_context(base_url=url)).new_page()
    if tab_script is not None:
        await page.add_init_script(tab_script)
    await page.goto("/transcripts/live")
    await page.get_by_role("button", name="Open the recorder").click()
    await page.wait_for_url("**/transcripts/*/record")
    if tab_script is not None:
        await page.get_by_label("Also record a browser tab's audio").check()
    await page.get_by_role("button", name="Start recording").click()
    return page


async def test_a_dropped_connection_is_restored_by_the_page_and_the_recording_goes_on(
    clean: Services, settings: Settings, tmp_path: Path
) -> None:
    app = create_app(settings, services=clean)
    async with serve(app) as url, async_playwright() as playwright:
        browser = await _browser_with_microphone(playwright, _meeting(tmp_path))
        page = await _start_recording(url, browser)
        transcript_id = page.url.rstrip("/").rsplit("/", 2)[1]
        status = page.get_by_role("status")
        await expect(status).to_contain_text("Recording", timeout=20_000)
        await expect(page.locator("[data-elapsed]")).to_have_text("00:04", timeout=10_000)
        # The connection drops on the server's side: the page must notice and offer again by itself.
        held = provide_recordings(app.state)._live[transcript_id]
        first_peer = held.peer
        await first_peer.close()
        await expect(status).to_contain_text("reconnecting", timeout=15_000)
        await expect(status).to_contain_text("Recording again", timeout=30_000)
        assert held.peer is not first_peer, "the page did not offer again"
        await expect(page.locator("[data-elapsed]")).to_have_text("00:16", timeout=20_000)
        await page.get_by_role("button", name="Stop").click()
        await page.wait_for_url("**/transcripts/*/processing", timeout=30_000)
        await browser.close()
    # One recording of the whole session, bar the seconds the connection was down, queued once.
    transcript = await clean.transcripts.get(transcript_id)
    assert transcript.status in ("uploaded", "processing"), transcript.status
    assert 8_000 <= transcript.duration <= 17_000, transcript.duration
    assert await clean.runs.active_run(transcript_id) is not None


# The shared tab plays a 440 Hz tone (Chromium's fake capture would give it the microphone's own sound).
TONE_TAB = """
const share = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getDisplayMedia = async (constraints) => {
  const shared = await share(constraints);
  const audio = new AudioContext(), tone = audio.createOscillator(), out = audio.createMediaStreamDestination();
  tone.frequency.value = 440;
  tone.connect(out);
  tone.start();
  shared.getAudioTracks().forEach((t) => { shared.removeTrack(t); t.stop(); });
  shared.addTrack(out.stream.getAudioTracks()[0]);
  return shared;
};
"""
# A tab shared without ticking "Share tab audio": video only.
SILENT_TAB = """
const share = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getDisplayMedia = async (constraints) => {
  const shared = await share(constraints);
  shared.getAudioTracks().forEach((t) => { shared.removeTrack(t); t.stop(); });
  return shared;
};
"""


def _strength_at(samples: np.ndarray, hertz: float) -> float:
    """How far the spectrum at `hertz` stands above the spectrum around it."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    frequencies = np.fft.rfftfreq(len(samples), 1 / 16_000)
    at = spectrum[np.abs(frequencies - hertz) < 3].max()
    around = spectrum[(np.abs(frequencies - hertz) > 20) & (np.abs(frequencies - hertz) < 200)]
    return float(at / np.median(around))


def _without(samples: np.ndarray, hertz: float) -> np.ndarray:
    spectrum = np.fft.rfft(samples)
    spectrum[np.abs(np.fft.rfftfreq(len(samples), 1 / 16_000) - hertz) < 10] = 0
    return np.fft.irfft(spectrum, len(samples)).astype(np.float32)


async def test_a_shared_tab_s_sound_is_recorded_with_the_microphone(
    clean: Services, served: str, tmp_path: Path
) -> None:
    async with async_playwright() as playwright:
        browser = await _browser_with_microphone(playwright, _meeting(tmp_path))
        page = await _start_recording(served, browser, tab_script=TONE_TAB)
        transcript_id = page.url.rstrip("/").rsplit("/", 2)[1]
        await expect(page.get_by_role("status")).to_contain_text("Recording", timeout=20_000)
        await expect(page.locator("[data-elapsed]")).to_have_text("00:08", timeout=20_000)
        await page.get_by_role("button", name="Stop").click()
        await page.wait_for_url("**/transcripts/*/processing", timeout=30_000)
        await browser.close()
    stored = tmp_path / "recorded.wav"
    await clean.storage.download(await clean.transcripts.upload_of(transcript_id), stored)
    recorded = audio.decode(stored)
    # The tab's tone is in the recording, and so is the microphone's speech (voice, not only a tone).
    assert _strength_at(recorded, 440) > 20
    assert _strength_at(audio.decode(SYNTHETIC / "standup.wav")[: len(recorded)], 440) < 5
    speech = sum(b - a for a, b in speech_regions(_without(recorded, 440))) / 16_000
    assert speech > 3, speech


async def test_a_shared_tab_without_sound_says_how_to_share_it(clean: Services, served: str, tmp_path: Path) -> None:
    async with async_playwright() as playwright:
        browser = await _browser_with_microphone(playwright, _meeting(tmp_path))
        page = await _start_recording(served, browser, tab_script=SILENT_TAB)
        await expect(page.get_by_role("alert")).to_contain_text("sends no sound")
        await expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
        transcript_id = page.url.rstrip("/").rsplit("/", 2)[1]
        assert (await clean.transcripts.get(transcript_id)).status == "idle"
        await browser.close()
