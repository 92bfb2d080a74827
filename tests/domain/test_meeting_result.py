"""A stored transcript read back in the shape `reflector process` prints: the words of its topics (a
person's corrections with them), else the words its run's checkpoint holds."""

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import NewTranscript
from reflector.domain.transcripts.service import meeting_result, steps_prefix
from reflector.encoding import encode, to_builtins
from reflector.pipelines.types import Segment, Word

WORDS = [Word("Ship", 0.5, 0.9, 0), Word("it.", 0.9, 1.2, 0), Word("Thursday?", 1.4, 1.9, 1)]


async def _with_checkpoint(services: Services) -> str:
    transcript = await services.transcripts.create(NewTranscript(name="Release"))
    await services.storage.put_bytes(f"{steps_prefix(transcript.id)}assemble.json", encode(WORDS))
    return transcript.id


async def test_a_transcript_without_topics_reads_its_words_from_the_runs_checkpoint(clean: Services) -> None:
    transcript_id = await _with_checkpoint(clean)

    result = await meeting_result(clean.transcripts, transcript_id)
    assert result.words == WORDS
    assert result.speakers == ["Speaker 1", "Speaker 2"]
    assert result.segments == [Segment(0, 0.5, 1.2, "Ship it."), Segment(1, 1.4, 1.9, "Thursday?")]
    assert result.topics == []


async def test_the_words_of_its_topics_win_over_the_checkpoint(clean: Services) -> None:
    transcript_id = await _with_checkpoint(clean)
    corrected = [Word("Ship", 0.5, 0.9, 0), Word("it", 0.9, 1.2, 0), Word("Friday.", 1.4, 1.9, 0)]
    topic = {"title": "Release", "summary": "Friday.", "timestamp": 0.5, "duration": 1.4}
    await clean.transcripts.replace_topics(transcript_id, [{**topic, "words": to_builtins(corrected)}])

    result = await meeting_result(clean.transcripts, transcript_id)
    assert result.words == corrected
    assert result.speakers == ["Speaker 1"]
    assert [(t.title, t.start, t.end) for t in result.topics] == [("Release", 0.5, 1.9)]
