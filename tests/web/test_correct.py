"""The correction page in a real browser: name, reassign and merge speakers, fix a word, finish the review;
every change read back through /v1 and the exports, which use the same stored topics and participants."""

import httpx
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript
from tests.web.conftest import no_serious_violations, screenshots


def _words(*spoken: tuple[int, str, float]) -> list[dict]:
    return [{"text": text, "start": start, "end": start + 0.4, "speaker": speaker} for speaker, text, start in spoken]


async def _processed(services: Services) -> str:
    """A transcript as the pipeline leaves it: two topics of words by two speakers."""
    created = await services.transcripts.create(NewTranscript(name="Weekly sync", user_id="local"))
    first = _words((0, "Hello", 0.0), (0, "team.", 0.5), (1, "Budget", 1.0), (1, "is", 1.5), (1, "fine.", 2.0))
    second = _words((0, "Ship", 3.0), (0, "Friday.", 3.5), (1, "Agreed.", 4.0))
    await services.transcripts.replace_topics(
        created.id,
        [
            {"title": "Greetings and budget", "summary": "The budget is fine.", "timestamp": 0.0, "duration": 2.4,
             "words": first},
            {"title": "Release", "summary": "Ship on Friday.", "timestamp": 3.0, "duration": 1.4, "words": second},
        ],
    )  # fmt: skip
    await transcripts_table.update(created.id, {"title": "Budget and release", "status": "ended"})
    await services.editor.refresh_text(created.id)
    return created.id


async def _transcript(served: str, transcript_id: str, **params: str) -> dict:
    async with httpx.AsyncClient(base_url=served) as client:
        return (await client.get(f"/v1/transcripts/{transcript_id}", params=params)).json()


async def _export(served: str, transcript_id: str) -> str:
    async with httpx.AsyncClient(base_url=served) as client:
        response = await client.get(f"/v1/transcripts/{transcript_id}/export", params={"format": "txt"})
        assert response.status_code == 200
        return response.text


def _run(page: Page, speaker: str):
    """The speaker runs on screen labelled `speaker`."""
    return page.locator(".run").filter(has=page.locator(".run-speaker", has_text=speaker))


async def test_renamed_speaker_shows_on_the_page_in_the_api_and_in_exports(
    page: Page, clean: Services, served: str
) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")
    await expect(page.get_by_text("Topic 1 / 2")).to_be_visible()
    await expect(_run(page, "Speaker 1")).to_contain_text("Hello team.")
    await screenshots(page, "correct-words")
    await no_serious_violations(page)

    await page.get_by_label("Speaker 1", exact=True).fill("Ana")
    await page.get_by_role("button", name="Rename Speaker 1").click()

    await expect(page.get_by_role("status")).to_have_text("Speaker 1 is now Ana.")
    await expect(_run(page, "Ana")).to_contain_text("Hello team.")
    assert (await _transcript(served, transcript_id))["transcript"].startswith("Ana: Hello team.")
    assert "Ana" in await _export(served, transcript_id)


async def test_selected_words_go_to_a_new_participant(page: Page, clean: Services, served: str) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.locator(".word", has_text="Budget").click()
    await page.locator(".word", has_text="is").click(modifiers=["Shift"])
    await expect(page.locator("#selection-status")).to_contain_text("Selected 2 words: “Budget is”")
    await screenshots(page, "correct-selection")
    await no_serious_violations(page)
    await page.get_by_label("Said by").select_option(label="A new participant…")
    await page.get_by_label("New participant’s name").fill("Ben")
    await page.get_by_role("button", name="Assign").click()

    await expect(page.get_by_role("status")).to_have_text("Assigned 2 words to Ben.")
    await expect(_run(page, "Ben")).to_have_text("Ben Budget is")
    await expect(_run(page, "Speaker 2")).to_contain_text("fine.")
    segments = (await _transcript(served, transcript_id, transcript_format="json"))["transcript"]
    assert [(s["speaker_name"], s["text"]) for s in segments] == [
        ("Speaker 1", "Hello team."), ("Ben", "Budget is"), ("Speaker 2", "fine."), ("Speaker 1", "Ship Friday."),
        ("Speaker 2", "Agreed."),
    ]  # fmt: skip


async def test_words_are_selected_with_the_keyboard_too(page: Page, clean: Services) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct?topic=2")

    await page.locator(".word", has_text="Friday.").focus()
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Shift+Space")
    await expect(page.locator("#selection-status")).to_contain_text("Selected 2 words: “Friday. Agreed.”")
    await expect(page.get_by_label("From word")).to_have_value("1")
    await expect(page.get_by_label("To word")).to_have_value("2")


async def test_merging_one_speaker_into_another(page: Page, clean: Services, served: str) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.get_by_label("Merge", exact=True).select_option(label="Speaker 2")
    await page.get_by_label("into").select_option(label="Speaker 1")
    await page.get_by_role("button", name="Merge", exact=True).click()

    await expect(page.get_by_role("status")).to_have_text("Merged Speaker 2 into Speaker 1.")
    await expect(page.locator(".run")).to_have_count(1)
    text = (await _transcript(served, transcript_id))["transcript"]
    assert text.splitlines() == ["Speaker 1: Hello team. Budget is fine. Ship Friday. Agreed."]


async def test_merging_two_named_speakers_is_refused_with_reflectors_sentence(
    page: Page, clean: Services, served: str
) -> None:
    transcript_id = await _processed(clean)
    editor = clean.editor
    await editor.name_speaker(transcript_id, 0, "Ana")
    await editor.name_speaker(transcript_id, 1, "Ben")
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.get_by_label("Merge", exact=True).select_option(label="Ben")
    await page.get_by_label("into").select_option(label="Ana")
    await page.get_by_role("button", name="Merge", exact=True).click()

    await expect(page.get_by_role("alert")).to_have_text("Both speakers are assigned to participants")
    await expect(_run(page, "Ben")).to_contain_text("Budget is fine.")
    assert "Ben: Budget is fine." in (await _transcript(served, transcript_id))["transcript"]


async def test_editing_a_word_keeps_its_timing(page: Page, clean: Services, served: str) -> None:
    transcript_id = await _processed(clean)
    before = (await clean.transcripts.topics(transcript_id))[0].words[2]
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.locator(".word", has_text="Budget").dblclick()
    editor = page.get_by_label("Text of word 3, “Budget”")
    await expect(editor).to_be_focused()
    await screenshots(page, "correct-edit-word")
    await no_serious_violations(page)
    await editor.fill("Budgets")
    await editor.press("Enter")

    await expect(page.locator(".word", has_text="Budgets")).to_be_focused()
    await page.reload()
    await expect(_run(page, "Speaker 2")).to_contain_text("Budgets is fine.")
    after = (await clean.transcripts.topics(transcript_id))[0].words[2]
    assert after == {**before, "text": "Budgets"}
    assert "Budgets is fine." in await _export(served, transcript_id)


async def test_escape_leaves_a_word_as_it_was(page: Page, clean: Services) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.locator(".word", has_text="Hello").focus()
    await page.keyboard.press("Enter")
    editor = page.get_by_label("Text of word 1, “Hello”")
    await editor.fill("Goodbye")
    await editor.press("Escape")

    await expect(page.locator(".word", has_text="Hello")).to_be_visible()
    await expect(page.get_by_text("Goodbye")).to_have_count(0)
    assert (await clean.transcripts.topics(transcript_id))[0].words[0]["text"] == "Hello"


async def test_an_empty_word_is_refused_and_the_editor_stays_open(page: Page, clean: Services) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct?topic=1&edit=0")

    editor = page.get_by_label("Text of word 1, “Hello”")
    await editor.evaluate("input => input.removeAttribute('required')")
    await editor.fill("   ")
    await editor.press("Enter")

    await expect(page.get_by_role("alert")).to_have_text("A word cannot be empty: type its text")
    await expect(page.get_by_label("Text of word 1, “Hello”")).to_be_visible()
    assert (await clean.transcripts.topics(transcript_id))[0].words[0]["text"] == "Hello"


async def test_arrow_keys_move_between_topics(page: Page, clean: Services) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_text("Topic 2 / 2")).to_be_visible()
    await expect(page.get_by_role("heading", level=2)).to_contain_text("Release")
    assert page.url.endswith("?topic=2")
    await page.keyboard.press("ArrowRight")  # the last topic: nowhere further to go
    await expect(page.get_by_text("Topic 2 / 2")).to_be_visible()

    await page.get_by_label("New participant’s name").fill("Typing")
    await page.keyboard.press("ArrowLeft")  # moves the caret, not the topic
    await expect(page.get_by_text("Topic 2 / 2")).to_be_visible()
    await page.locator(".word", has_text="Ship").focus()
    await page.keyboard.press("ArrowLeft")
    await expect(page.get_by_text("Topic 1 / 2")).to_be_visible()
    await expect(page.locator(".word", has_text="Hello")).to_be_visible()


async def test_done_marks_the_transcript_reviewed(page: Page, clean: Services, served: str) -> None:
    transcript_id = await _processed(clean)
    await page.goto(f"/transcripts/{transcript_id}/correct")

    await page.get_by_role("button", name="Done").click()

    await page.wait_for_url(f"**/transcripts/{transcript_id}")
    assert (await _transcript(served, transcript_id))["reviewed"] is True


async def test_every_correction_works_without_javascript(browser: Browser, clean: Services, served: str) -> None:
    transcript_id = await _processed(clean)
    context = await browser.new_context(base_url=served, java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto(f"/transcripts/{transcript_id}/correct")
        await page.get_by_label("Speaker 2", exact=True).fill("Ben")
        await page.get_by_role("button", name="Rename Speaker 2").click()
        await expect(_run(page, "Ben")).to_contain_text("Budget is fine.")

        await page.get_by_label("From word").select_option(label="1. Hello")
        await page.get_by_label("To word").select_option(label="2. team.")
        await page.get_by_label("Said by").select_option(label="Ben (Speaker 2)")
        await page.get_by_role("button", name="Assign").click()
        await expect(page.locator(".run")).to_have_count(1)

        await page.locator(".word", has_text="fine.").click()  # a plain link to the word's editor
        await page.get_by_label("Text of word 5, “fine.”").fill("great.")
        await page.get_by_role("button", name="Save").click()
        await expect(_run(page, "Ben")).to_have_text("Ben Hello team. Budget is great.")
        assert (await _transcript(served, transcript_id))["transcript"].startswith("Ben: Hello team. Budget is great.")
    finally:
        await context.close()
