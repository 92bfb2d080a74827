"""The transcript page in a real browser: what a person sees, plays, edits, exports, shares and deletes."""

import asyncio
import tempfile
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges, TranscriptNotFound
from reflector.domain.transcripts.service import audio_key, waveform_key
from reflector.pipelines import audio
from reflector.pipelines.types import Word
from tests.paths import REAL
from tests.web.conftest import no_serious_violations, screenshots

SAMPLE = REAL / "two_speakers_sample.wav"
# Who says what in the sample, from its reference transcript: (speaker, start, end, text).
GREETINGS = [
    (0, 6.68, 7.16, "Hello?"),
    (1, 7.634, 8.155, "Hello?"),
    (0, 8.436, 9.798, "Oh, hello. I didn't know you were there."),
    (1, 9.838, 10.78, "Neither did I."),
]
ORIGINS = [
    (0, 12.542, 14.184, "This is Diane in New Jersey."),
    (1, 14.444, 17.769, "And I'm Sheila in Texas, originally from Chicago."),
    (0, 17.789, 21.475, "Oh, I'm originally from Chicago also. I'm in New Jersey now though."),
]


class Recording(msgspec.Struct, frozen=True):
    mp3: bytes
    peaks: list[float]
    seconds: float


@pytest.fixture(scope="module")
def recording() -> Recording:
    """The sample as the pipeline's decode step stores it: an mp3 for the player and the waveform peaks."""
    decoded = audio.decode(SAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = audio.encode_mp3(decoded, Path(tmp) / "audio.mp3").read_bytes()
    return Recording(mp3=mp3, peaks=audio.waveform(decoded), seconds=audio.duration_of(decoded))


def _topic_event(title: str) -> dict:
    """A TOPIC payload as the pipeline announces one (the page reloads its topics on it)."""
    return {"id": "t1", "title": title, "summary": "", "timestamp": 0.0, "duration": 0.0, "transcript": "",
            "segments": []}  # fmt: skip


def _words(lines: list[tuple[int, float, float, str]]) -> list[dict]:
    """Each line's words spread evenly over its time."""
    words = []
    for speaker, start, end, text in lines:
        tokens = text.split()
        step = (end - start) / len(tokens)
        for i, token in enumerate(tokens):
            at = round(start + i * step, 3)
            words.append({"text": token, "start": at, "end": round(at + step * 0.9, 3), "speaker": speaker})
    return words


async def _meeting(services: Services, recording: Recording, *, status: str = "ended") -> str:
    """A processed meeting of two callers: two topics, one named speaker, decisions, action items, audio."""
    created = await services.transcripts.create(NewTranscript(name="Call recording", user_id="local"))
    await services.transcripts.replace_topics(
        created.id,
        [
            {"title": "Greetings", "summary": "Diane and Sheila say hello.", "timestamp": 6.68, "duration": 4.1,
             "words": _words(GREETINGS)},
            {"title": "Where they are from", "summary": "Both are originally from Chicago.", "timestamp": 12.5,
             "duration": 9.0, "words": _words(ORIGINS)},
        ],
    )  # fmt: skip
    await services.editor.add_participant(created.id, "Diane", 0)
    await transcripts_table.update(
        created.id,
        {
            "status": status,
            "title": "Callers from Chicago",
            "short_summary": "Two callers find they both come from Chicago.",
            "long_summary": "## Recap\n\nTwo callers find they both come from Chicago.\n\n"
            "## Origins\n\nDiane lives in New Jersey.",
            "duration": round(recording.seconds * 1000),
            "action_items": {
                "decisions": [{"decision": "Keep the call informal."}],
                "next_steps": [
                    {"task": "Send Sheila the Chicago photos", "assigned_to": "Diane", "deadline": "Friday"}
                ],
            },
        },
    )
    await services.storage.put_bytes(audio_key(created.id), recording.mp3)
    await services.storage.put_bytes(waveform_key(created.id), msgspec.json.encode(recording.peaks))
    return created.id


async def test_shows_the_meeting_with_speakers_and_outcomes(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Callers from Chicago")
    speakers = page.get_by_role("list", name="Speakers")
    await expect(speakers).to_contain_text("Diane")
    await expect(speakers).to_contain_text("Speaker 2")
    text = page.locator("#text")
    await expect(text).to_contain_text("[00:06] Diane: Hello?")
    await expect(text).to_contain_text("Speaker 2: Neither did I.")
    outcomes = page.locator("#outcomes")
    await expect(outcomes).to_contain_text("Keep the call informal.")
    await expect(outcomes).to_contain_text("Send Sheila the Chicago photos")
    await expect(outcomes).to_contain_text("Owner: Diane")
    await expect(outcomes).to_contain_text("Due: Friday")
    await expect(page.locator("#topics")).to_contain_text("Where they are from")
    await expect(page.locator("#summary")).to_contain_text("Diane lives in New Jersey.")
    await expect(page.locator("[data-total]")).to_have_text("00:30")
    await expect(page.get_by_role("link", name="Correct speakers")).to_have_attribute(
        "href", f"/transcripts/{transcript_id}/correct"
    )
    # The waveform is drawn once its peaks arrive: some pixels are painted.
    await page.wait_for_function(
        "() => { const c = document.querySelector('.wave canvas'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; return d.some((v, i) => i % 4 === 3 && v > 0); }"
    )
    await no_serious_violations(page)
    await screenshots(page, "transcript-ended")


async def test_clicking_a_word_or_topic_seeks_the_player(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")
    sheila = page.locator(".w", has_text="Sheila")
    start = float(await sheila.get_attribute("data-start") or "nan")

    await sheila.click()

    assert await page.evaluate("document.querySelector('audio').currentTime") == pytest.approx(start, abs=0.01)
    await expect(sheila).to_have_class("w is-current")
    await page.locator(".topic-link", has_text="Greetings").click()
    assert await page.evaluate("document.querySelector('audio').currentTime") == pytest.approx(6.68, abs=0.01)


async def test_title_and_summary_edited_inline(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")

    await page.get_by_role("link", name="Edit title").click()
    title = page.get_by_label("Title")
    await expect(title).to_be_focused()
    await no_serious_violations(page)
    await screenshots(page, "transcript-editing-title")
    await title.fill("   ")
    await title.press("Enter")  # only spaces: refused, says why, keeps the form
    await expect(page.get_by_text("Give the meeting a title.")).to_be_visible()
    await title.fill("Chicago callers, reviewed")
    await page.keyboard.press("Escape")  # Esc cancels: the old title stays
    await expect(page.get_by_role("heading", level=1)).to_have_text("Callers from Chicago")
    await page.get_by_role("link", name="Edit title").click()
    await page.get_by_label("Title").fill("Chicago callers, reviewed")
    await page.get_by_role("button", name="Save title").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chicago callers, reviewed")

    await page.get_by_role("link", name="Edit summary").click()
    await page.get_by_label("Short summary").fill("Both callers grew up in Chicago.")
    await page.get_by_label("Long summary").fill("## Where\n\nDiane moved to New Jersey.")
    await page.get_by_role("button", name="Save summary").click()
    summary = page.locator("#summary")
    await expect(summary).to_contain_text("Both callers grew up in Chicago.")
    await expect(summary.get_by_role("heading", name="Where")).to_be_visible()

    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chicago callers, reviewed")
    await expect(page.locator("#summary")).to_contain_text("Diane moved to New Jersey.")
    stored = await clean.transcripts.get(transcript_id)
    assert (stored.title, stored.short_summary, stored.long_summary) == (
        "Chicago callers, reviewed",
        "Both callers grew up in Chicago.",
        "## Where\n\nDiane moved to New Jersey.",
    )


async def test_export_menu_downloads_the_text_and_copy_copies_it(
    page: Page, clean: Services, recording: Recording
) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_text("Copied as Markdown")).to_be_visible()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("# Callers from Chicago") and "Neither did I." in copied

    await page.locator("summary", has_text="Export").click()
    async with page.expect_download() as pending:
        await page.get_by_role("link", name="Text (.txt)").click()
    download = await pending.value

    assert download.suggested_filename == "callers-from-chicago.txt"
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    assert "Speaker 2: And I'm Sheila in Texas" in text


async def test_share_mode_and_reviewed_persist(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")

    await page.get_by_label("Share with").select_option(label="Authenticated users")
    await expect(page.locator("#share-form")).to_contain_text("Saved")
    await page.get_by_label("Share with").select_option(label="Public link")
    await expect(page.get_by_label("Anyone with this link can open it")).to_have_value(
        f"{page.url.split('/transcripts/')[0]}/transcripts/{transcript_id}"
    )
    reviewed = page.get_by_role("button", name="Reviewed")
    await expect(reviewed).to_have_attribute("aria-pressed", "false")
    await reviewed.click()
    await expect(reviewed).to_have_attribute("aria-pressed", "true")

    await page.reload()
    await expect(page.get_by_label("Share with")).to_have_value("public")
    await expect(page.get_by_role("button", name="Reviewed")).to_have_attribute("aria-pressed", "true")
    stored = await clean.transcripts.get(transcript_id)
    assert (stored.share_mode, stored.reviewed) == ("public", True)


async def test_keyboard_plays_seeks_and_lists_shortcuts(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")
    paused = "document.querySelector('audio').paused"
    await page.wait_for_function("document.querySelector('audio').readyState >= 1")

    await page.keyboard.press("Space")
    await page.wait_for_function(f"!{paused}")
    await page.keyboard.press("Space")
    await page.wait_for_function(paused)
    before = await page.evaluate("document.querySelector('audio').currentTime")
    await page.keyboard.press("ArrowRight")
    after = await page.evaluate("document.querySelector('audio').currentTime")
    assert after == pytest.approx(before + 5, abs=0.05)

    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Play or pause")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()


async def test_delete_after_confirming(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await page.goto(f"/transcripts/{transcript_id}")

    await page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this transcript?")
    await expect(dialog).to_contain_text("Callers from Chicago")
    await dialog.get_by_role("link", name="Keep it").click()
    await expect(dialog).to_be_hidden()
    await page.get_by_role("link", name="Delete").click()
    await dialog.get_by_role("button", name="Move to Trash").click()

    await page.wait_for_url("**/browse")
    with pytest.raises(TranscriptNotFound):
        await clean.transcripts.get(transcript_id)


async def test_unfinished_transcript_points_to_its_progress_and_fills_in_live(page: Page, clean: Services) -> None:
    created = await clean.transcripts.create(NewTranscript(name="Monday call", user_id="local"))
    await clean.transcripts.set_status(created.id, "processing")
    await page.goto(f"/transcripts/{created.id}")

    notice = page.get_by_role("status").filter(has_text="still being processed")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("link", name="Follow the progress")).to_have_attribute(
        "href", f"/transcripts/{created.id}/processing"
    )
    assert page.url.endswith(f"/transcripts/{created.id}")
    await no_serious_violations(page)
    await screenshots(page, "transcript-processing")

    # What the pipeline saves and announces shows up without a reload.
    await clean.transcripts.update(created.id, TranscriptChanges(title="Budget review"))
    await clean.transcripts.emit(created.id, parse("FINAL_TITLE", {"title": "Budget review"}))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Budget review")
    await clean.transcripts.replace_topics(
        created.id,
        [{"title": "Greetings", "summary": "", "timestamp": 6.68, "duration": 4.1, "words": _words(GREETINGS)}],
    )
    await clean.transcripts.emit(created.id, parse("TOPIC", _topic_event("Greetings")))
    await expect(page.locator("#topics")).to_contain_text("Greetings")
    await expect(page.locator("#text")).to_contain_text("Neither did I.")
    await clean.transcripts.set_status(created.id, "ended")
    await expect(notice).to_be_hidden()


async def test_works_without_script(browser: Browser, served: str, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    context = await browser.new_context(base_url=served, java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto(f"/transcripts/{transcript_id}")
        await page.get_by_role("link", name="Edit title").click()
        await page.get_by_label("Title").fill("Plain form title")
        await page.get_by_role("button", name="Save title").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Plain form title")
        await page.get_by_label("Share with").select_option("semi-private")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.get_by_label("Share with")).to_have_value("semi-private")
        await page.get_by_role("link", name="Delete").click()
        await page.get_by_role("button", name="Move to Trash").click()
        await page.wait_for_url("**/browse")
    finally:
        await context.close()
    with pytest.raises(TranscriptNotFound):
        await clean.transcripts.get(transcript_id)


async def test_deleted_audio_hides_the_player_and_says_why(page: Page, clean: Services, recording: Recording) -> None:
    transcript_id = await _meeting(clean, recording)
    await clean.transcripts.update(transcript_id, TranscriptChanges(audio_deleted=True))
    await page.goto(f"/transcripts/{transcript_id}")

    await expect(page.get_by_text("The recording was deleted for privacy")).to_be_visible()
    assert await page.locator("audio").count() == 0
    await expect(page.locator("#text")).to_contain_text("Neither did I.")


async def test_unknown_transcript_is_not_found(page: Page, clean: Services) -> None:
    response = await page.goto("/transcripts/no-such-id")
    assert response is not None and response.status == 404


async def test_a_speaker_the_meeting_named_shows_why_and_the_name_can_be_taken_back(
    page: Page, clean: Services, recording: Recording
) -> None:
    transcript_id = await _meeting(clean, recording)
    # Sheila was named before processing, with no voice yet; the meeting shows which voice is hers.
    await clean.editor.add_participant(transcript_id, "Sheila", None)
    said = _words([(0, 0, 3, "Sheila, where are you from?"), (1, 3.5, 5, "Chicago."),
                   (0, 5.5, 8, "Sheila, since when?"), (1, 8.5, 10, "Since I was born.")])  # fmt: skip
    words = [Word(**w) for w in said]
    assert await clean.transcripts.name_from_meeting(transcript_id, words) == {0: "Diane", 1: "Sheila"}

    await page.goto(f"/transcripts/{transcript_id}")
    speakers = page.get_by_role("list", name="Speakers")
    await expect(speakers).to_contain_text("Sheila")
    await expect(page.locator("#text")).to_contain_text("Sheila: Neither did I.")
    await speakers.get_by_text("named from the meeting: why?").click()
    await expect(speakers).to_contain_text('Speaker 1: "Sheila, where are you from?" — answered by this voice')
    await no_serious_violations(page)
    await page.get_by_role("button", name="Not Sheila: undo").click()
    await expect(speakers).to_contain_text("Speaker 2")
    await expect(speakers).not_to_contain_text("Sheila")
    await expect(page.locator("#text")).to_contain_text("Speaker 2: Neither did I.")
    # Processed again, the meeting does not give the name back; a person's own naming is untouched.
    assert await clean.transcripts.name_from_meeting(transcript_id, words) == {0: "Diane"}

    # With nobody named beforehand, the meeting's name becomes a participant of its own.
    other = (await clean.transcripts.create(NewTranscript(name="Other call", user_id="local"))).id
    assert await clean.transcripts.name_from_meeting(other, words) == {1: "Sheila"}
    [sheila] = await clean.transcripts.participants(other)
    assert sheila.speaker == 1 and len(sheila.evidence or []) == 2
