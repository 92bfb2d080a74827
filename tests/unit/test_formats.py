"""Exports of a hand-built meeting: each format's structure, timing and escaping."""

import itertools
import re

import msgspec
import pytest

from reflector.pipelines.formats import FORMATS, MAX_CUE_CHARS, MAX_CUE_SECONDS, clock, cue_time, render
from reflector.pipelines.types import ActionItem, MeetingResult, Segment, Topic, Word

LONG_TEXT = (
    "So the budget for next quarter is mostly unchanged. We keep two contractors on the mobile app, "
    "and we move the design review to Thursdays because Mondays are always full of incidents."
)


def _words(text: str, start: float, end: float, speaker: int) -> list[Word]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [
        Word(text=f" {t}", start=start + i * step, end=start + (i + 0.8) * step, speaker=speaker)
        for i, t in enumerate(tokens)
    ]


def _meeting(**changes: object) -> MeetingResult:
    segments = [
        Segment(speaker=0, start=0.0, end=3.2, text="Welcome everyone, let's start."),
        Segment(speaker=1, start=3.5, end=18.0, text=LONG_TEXT),
        Segment(speaker=0, start=18.5, end=21.0, text="Map a --> b & keep <tags> out."),
        Segment(speaker=2, start=3725.0, end=3727.5, text="Late remark."),
    ]
    result = MeetingResult(
        title="Quarterly planning",
        short_summary="Budget kept.",
        long_summary="The team kept the budget.\n\nDesign review moves to Thursdays.",
        duration=3730.0,
        language="en",
        speakers=["Alice", "Bob"],  # speaker 2 has no name: "Speaker 3"
        segments=segments,
        words=[
            *_words(segments[0].text, 0.0, 3.2, 0),
            *_words(LONG_TEXT, 3.5, 18.0, 1),
            *_words(segments[2].text, 18.5, 21.0, 0),
            *_words(segments[3].text, 3725.0, 3727.5, 2),
        ],
        topics=[
            Topic(title="Budget", summary="Unchanged.", start=0.0, end=18.0, words=[]),
            Topic(title="Wrap-up", summary="", start=3725.0, end=3727.5, words=[]),
        ],
        decisions=["Design review on Thursdays"],
        action_items=[
            ActionItem(task="Send the budget", owner="Alice", due="Friday"),
            ActionItem(task="Book a room"),
        ],
    )
    return msgspec.structs.replace(result, **changes)


CUE_TIMING = re.compile(r"^(\d\d):(\d\d):(\d\d)([.,])(\d\d\d) --> (\d\d):(\d\d):(\d\d)[.,](\d\d\d)$")


def _parse_cues(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) per cue of a WebVTT or SRT document."""
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if match := CUE_TIMING.match(line):
                h1, m1, s1, _, ms1, h2, m2, s2, ms2 = match.groups()
                start = int(h1) * 3600 + int(m1) * 60 + int(s1) + int(ms1) / 1000
                end = int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2) / 1000
                cues.append((start, end, "\n".join(lines[i + 1 :])))
    return cues


def test_every_format_renders() -> None:
    for fmt in FORMATS:
        assert render(_meeting(), fmt).endswith("\n")
    with pytest.raises(ValueError, match="unknown format"):
        render(_meeting(), "docx")


def test_json_round_trips_to_the_same_result() -> None:
    text = render(_meeting(), "json")

    assert "\n  " in text  # indented for people
    assert msgspec.json.decode(text, type=MeetingResult) == _meeting()


def test_clock_and_cue_times() -> None:
    assert clock(65.9, hours=False) == "01:05"
    assert clock(3725, hours=True) == "01:02:05"
    assert clock(3725, hours=False) == "62:05"
    assert cue_time(3725.5) == "01:02:05.500"
    assert cue_time(59.9996, ",") == "00:01:00,000"
    assert cue_time(-1) == "00:00:00.000"


def test_text_has_header_lines_and_sections() -> None:
    text = render(_meeting(), "txt")
    lines = text.splitlines()

    assert lines[0] == "Quarterly planning"
    assert "[00:00:00] Alice: Welcome everyone, let's start." in lines
    assert "[01:02:05] Speaker 3: Late remark." in lines
    assert text.index("Summary") < text.index("Decisions") < text.index("Action items")
    assert "- Send the budget (owner: Alice, due: Friday)" in lines
    assert "- Book a room" in lines
    assert lines[lines.index("Summary") + 2] == "Budget kept."


def test_a_long_summary_alone_loses_its_topic_headings() -> None:
    meeting = msgspec.structs.replace(
        _meeting(), short_summary="", long_summary="## Recap\n\nKept it.\n\n## Budget\n\nSame."
    )
    text = render(meeting, "md")
    summary = text[text.index("## Summary") : text.index("## Decisions")]
    assert summary == "## Summary\n\nKept it.\n\nSame.\n\n"


def test_text_of_a_short_meeting_uses_minutes() -> None:
    short = _meeting(duration=25.0, segments=_meeting().segments[:3])

    assert "[00:03] Bob: So the budget" in render(short, "txt")


def test_vtt_cues_are_ordered_voiced_and_readable() -> None:
    text = render(_meeting(), "vtt")
    cues = _parse_cues(text)

    assert text.startswith("WEBVTT\n\n")
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)
    assert all(end >= start for start, end, _ in cues)
    assert all(body.startswith("<v ") for _, _, body in cues)
    for start, end, body in cues:
        spoken = re.sub(r"^<v [^>]*>", "", body)
        assert end - start <= MAX_CUE_SECONDS + 0.01
        assert len(spoken.replace("\n", " ")) <= MAX_CUE_CHARS
        assert spoken.count("\n") <= 1
    bob = [re.sub(r"^<v Bob>", "", body).replace("\n", " ") for _, _, body in cues if "<v Bob>" in body]
    assert len(bob) >= 3 and " ".join(bob) == LONG_TEXT
    assert cues[-1][:2] == (3725.0, 3727.5)
    assert "01:02:05.000 --> 01:02:07.500" in text


def test_vtt_escapes_cue_text_and_names() -> None:
    text = render(_meeting(speakers=["Alice <host>", "Bob"]), "vtt")

    assert "Map a --&gt; b &amp; keep &lt;tags&gt; out." in text
    assert "<v Alice &lt;host&gt;>" in text
    assert all(CUE_TIMING.match(line) for line in text.splitlines() if "-->" in line)


def test_srt_is_numbered_with_comma_times_and_speaker_names() -> None:
    text = render(_meeting(), "srt")
    blocks = text.strip().split("\n\n")

    assert [int(b.split("\n")[0]) for b in blocks] == list(range(1, len(blocks) + 1))
    assert all(CUE_TIMING.match(b.split("\n")[1]).group(4) == "," for b in blocks)
    assert len(blocks) == len(_parse_cues(render(_meeting(), "vtt")))
    assert blocks[0].endswith("Alice: Welcome everyone, let's start.")
    assert blocks[-1].endswith("Speaker 3: Late remark.")


def test_long_segment_without_word_times_is_split_by_text() -> None:
    text = render(_meeting(words=[]), "srt")
    bob = [c for c in _parse_cues(text) if c[2].startswith("Bob: ")]

    assert len(bob) >= 3
    assert bob[0][0] == 3.5 and bob[-1][1] == 18.0
    assert all(b[1] <= a[0] + 0.002 for b, a in itertools.pairwise(bob))
    joined = " ".join(c[2].replace("\n", " ") for c in bob).replace("Bob: ", "")
    assert joined == LONG_TEXT


def test_markdown_lists_actions_topics_and_transcript() -> None:
    text = render(_meeting(), "md")

    assert text.startswith("# Quarterly planning\n")
    assert "- [ ] Send the budget — **Alice**, due Friday" in text
    assert "- [ ] Book a room\n" in text
    assert "- Design review on Thursdays" in text
    assert "- **Budget** (00:00:00–00:00:18): Unchanged." in text
    assert "**[01:02:05] Speaker 3:** Late remark." in text
    assert "keep \\<tags\\> out" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Summary", "## Decisions", "## Action items", "## Topics", "## Transcript"]


def test_a_word_on_the_wire_carries_the_space_before_it_where_its_script_has_spaces() -> None:
    from reflector.word_text import on_the_wire

    assert [on_the_wire(w) for w in ["Hello.", "didn't", " already", ""]] == [" Hello.", " didn't", " already", ""]
    assert [on_the_wire(w) for w in ["你好", "こんにちは", "カタカナ", "สวัสดี"]] == [
        "你好",
        "こんにちは",
        "カタカナ",
        "สวัสดี",
    ]
    assert on_the_wire("안녕하세요") == " 안녕하세요"  # Korean writes spaces between words
