"""Who spoke when in the result: overlapped speech marked, speech without words kept."""

import msgspec

from reflector.pipelines.assemble import speaker_timeline, wordless_turns
from reflector.pipelines.transcribe import unlooped
from reflector.pipelines.types import Segment, SpeakerTurn, Word


def test_overlapped_segments_are_marked_and_wordless_turns_are_kept_in_time_order() -> None:
    segments = [Segment(0, 0.0, 4.0, "I think we should ship on Friday."), Segment(1, 4.5, 6.0, "Agreed.")]
    turns = [
        SpeakerTurn(0.0, 4.0, 0),
        SpeakerTurn(2.5, 3.6, 1),  # speaker 1 talks over the last second of speaker 0's sentence
        SpeakerTurn(4.5, 6.0, 1),
        SpeakerTurn(7.0, 8.0, 2),  # a voice in the back the recognizer made nothing of
        SpeakerTurn(8.4, 9.5, 2),
        SpeakerTurn(10.0, 10.4, 0),  # a cough: too short to count
    ]
    timeline = speaker_timeline(segments, turns)
    assert [(s.speaker, s.start, s.end, s.text, s.overlap) for s in timeline] == [
        (0, 0.0, 4.0, "I think we should ship on Friday.", True),
        (1, 4.5, 6.0, "Agreed.", False),
        (2, 7.0, 9.5, "", False),
    ]
    # A segment not overlapped keeps its JSON shape: `overlap` appears only where it is true.
    assert set(msgspec.to_builtins(timeline[1])) == {"speaker", "start", "end", "text"}
    assert msgspec.to_builtins(timeline[0])["overlap"] is True


def test_without_turns_the_segments_are_unchanged() -> None:
    segments = [Segment(0, 0.0, 1.0, "Hello.")]
    assert speaker_timeline(segments, []) == segments


def test_wordless_turns_are_those_no_span_touches_however_the_spans_are_ordered() -> None:
    turns = [
        SpeakerTurn(0.0, 3.0, 0),
        SpeakerTurn(3.5, 5.0, 1),
        SpeakerTurn(6.0, 9.0, 0),
        SpeakerTurn(10.0, 10.5, 1),  # too short to count
        SpeakerTurn(11.0, 12.5, 2),  # after every span
    ]
    # The span from 1.0 reaches past 6.0, though a span that starts after it ends at 2.0.
    spans = [(1.5, 2.0), (0.2, 0.6), (1.0, 6.2)]
    assert [(t.start, t.end, t.speaker) for t in wordless_turns(spans, turns)] == [(11.0, 12.5, 2)]
    assert [t.start for t in wordless_turns([(1.5, 2.0), (0.2, 0.6)], turns)] == [3.5, 6.0, 11.0]
    assert [t.start for t in wordless_turns([], turns)] == [0.0, 3.5, 6.0, 11.0]


def test_a_phrase_whisper_loops_on_is_kept_once() -> None:
    def words(text: str) -> list[Word]:
        return [Word(t, i * 0.2, i * 0.2 + 0.1) for i, t in enumerate(text.split())]

    assert [w.text for w in unlooped(words("Oh yeah. Oh yeah. Oh yeah. Oh yeah."))] == ["Oh", "yeah."]
    assert [w.text for w in unlooped(words("Thank you. Thank you. Thank you. Thank you. Thank you."))] == [
        "Thank",
        "you.",
    ]
    for text in ("No, no, no.", "Yes, I think so. Yes, I think we can.", "Oh yeah. Oh yeah. Oh yeah. Oh"):
        assert unlooped(words(text)) == words(text)
