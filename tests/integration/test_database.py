"""The schema built by our migrations, and the transcript service on the real database."""

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges


async def test_migrations_create_search_vector_and_change_seq(clean: Services) -> None:
    transcripts = clean.transcripts
    created = await transcripts.create(NewTranscript(name="Weekly sync"))
    await transcripts.update(
        created.id, TranscriptChanges(title="Budget review", text="Speaker 1: the marketing budget")
    )
    updated = await transcripts.get(created.id)
    assert updated.change_seq > created.change_seq
    assert updated.updated_at >= created.updated_at

    from reflector.domain.transcripts.tables import Transcript

    rows = await Transcript.raw(
        "SELECT id FROM transcript WHERE search_vector_en @@ websearch_to_tsquery('english', {})", "budgets"
    )
    assert [r["id"] for r in rows] == [created.id]


async def test_status_changes_are_logged_as_events(clean: Services) -> None:
    transcripts = clean.transcripts
    created = await transcripts.create(NewTranscript())
    assert created.status == "idle"
    await transcripts.set_status(created.id, "processing")
    await transcripts.set_status(created.id, "processing")  # unchanged: no second event
    await transcripts.set_status(created.id, "error", error="The file has no audio track.")
    events = await transcripts.events(created.id)
    assert events == [("STATUS", {"value": "processing"}), ("STATUS", {"value": "error"})]
    assert (await transcripts.get(created.id)).error == "The file has no audio track."
