"""Who spoke when in the result: overlapped speech marked, speech without words kept."""

import msgspec

from reflector.pipelines.assemble import speaker_timeline
from reflector.pipelines.types import Segment, SpeakerTurn


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
