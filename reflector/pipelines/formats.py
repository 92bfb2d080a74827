"""Exports of a MeetingResult: json, plain text, WebVTT, SRT and Markdown. Pure functions of the result."""

import math
import re
from collections.abc import Callable

import msgspec

from reflector.pipelines.types import MeetingResult, Segment, Word, speaker_label

FORMATS = ("json", "txt", "vtt", "srt", "md")

# Subtitle readability: at most two lines of 42 characters on screen for at most ~7 seconds.
MAX_CUE_SECONDS = 7.0
MAX_CUE_CHARS = 84
MAX_LINE_CHARS = 42


class Cue(msgspec.Struct, frozen=True):
    start: float
    end: float
    speaker: int
    text: str


def render(result: MeetingResult, fmt: str) -> str:
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
    return renderer(result)


def speaker_name(result: MeetingResult, speaker: int) -> str:
    if 0 <= speaker < len(result.speakers) and result.speakers[speaker].strip():
        return " ".join(result.speakers[speaker].split())
    return speaker_label(speaker)


def clock(seconds: float, *, hours: bool) -> str:
    """`MM:SS`, or `HH:MM:SS` when `hours`; minutes keep counting past 59 without hours."""
    total = max(0, int(seconds))
    if hours:
        return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    return f"{total // 60:02d}:{total % 60:02d}"


def cue_time(seconds: float, separator: str = ".") -> str:
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{separator}{ms % 1000:03d}"


def _needs_hours(result: MeetingResult) -> bool:
    last = max((s.end for s in result.segments), default=0.0)
    return max(result.duration, last) >= 3600


def _one_line(text: str) -> str:
    # Blank lines end a cue or paragraph: exports keep each piece of speech on one logical line.
    return " ".join(text.split())


# --- json -----------------------------------------------------------------------------------------


def to_json(result: MeetingResult) -> str:
    return msgspec.json.format(msgspec.json.encode(result), indent=2).decode() + "\n"


# --- txt ------------------------------------------------------------------------------------------


def _summary_paragraphs(result: MeetingResult) -> list[str]:
    """The short summary; else the long one as plain paragraphs (its per-topic sections repeat the
    topics, which these formats list on their own)."""
    if result.short_summary.strip():
        return [result.short_summary.strip()]
    paragraphs = (p.strip() for p in re.split(r"\n\s*\n", result.long_summary))
    return [p for p in paragraphs if p and not p.startswith("#")]


def segment_lines(result: MeetingResult, *, timestamped: bool) -> str:
    """Reflector's `text` and `text-timestamped` transcript formats: "[MM:SS] Name: text" lines."""
    hours = _needs_hours(result)
    lines = []
    for seg in result.segments:
        stamp = f"[{clock(seg.start, hours=hours)}] " if timestamped else ""
        lines.append(f"{stamp}{speaker_name(result, seg.speaker)}: {_said(seg)}")
    return "\n".join(lines)


def _said(segment: Segment) -> str:
    # Speech the recognizer heard no words in is still someone speaking then: say so rather than nothing.
    return _one_line(segment.text) or "(inaudible)"


def to_text(result: MeetingResult) -> str:
    hours = _needs_hours(result)
    title = _one_line(result.title) or "Untitled meeting"
    lines = [title, "=" * len(title), f"Duration: {clock(result.duration, hours=hours)}", ""]
    for seg in result.segments:
        lines.append(f"[{clock(seg.start, hours=hours)}] {speaker_name(result, seg.speaker)}: {_said(seg)}")
    summary = _summary_paragraphs(result)
    if summary:
        lines += ["", "Summary", "-------", "\n\n".join(summary)]
    if result.decisions:
        lines += ["", "Decisions", "---------", *(f"- {_one_line(d)}" for d in result.decisions)]
    if result.action_items:
        lines += ["", "Action items", "------------"]
        for item in result.action_items:
            extras = [f"owner: {item.owner}" if item.owner else "", f"due: {item.due}" if item.due else ""]
            details = ", ".join(e for e in extras if e)
            lines.append(f"- {_one_line(item.task)}" + (f" ({details})" if details else ""))
    return "\n".join(lines) + "\n"


# --- subtitles ------------------------------------------------------------------------------------


def cues(result: MeetingResult) -> list[Cue]:
    """Subtitle cues: one per segment, long segments split at word times into readable pieces."""
    out: list[Cue] = []
    for seg in result.segments:
        text = _one_line(seg.text)
        if not text:
            continue
        if seg.end - seg.start <= MAX_CUE_SECONDS and len(text) <= MAX_CUE_CHARS:
            out.append(Cue(seg.start, max(seg.end, seg.start), seg.speaker, text))
            continue
        words = _words_of(seg, result.words)
        out += _split_by_words(seg, words) if words else _split_by_text(seg, text)
    return sorted(out, key=lambda cue: cue.start)


def _words_of(seg: Segment, words: list[Word]) -> list[Word]:
    # A word belongs to the segment when its midpoint falls inside it and the speaker matches, so
    # overlapping speakers do not borrow each other's words. If the segment text was corrected
    # since, its words no longer match it: the caller then splits the text itself.
    mine = [
        w
        for w in words
        if w.speaker == seg.speaker and seg.start <= (w.start + w.end) / 2 <= seg.end and w.text.strip()
    ]
    joined = "".join("".join(w.text.split()) for w in mine)
    return mine if joined == "".join(seg.text.split()) else []


def _split_by_words(seg: Segment, words: list[Word]) -> list[Cue]:
    groups: list[list[Word]] = [[]]
    for word in words:
        group = groups[-1]
        if group and _too_long(group, word):
            groups.append([word])
        else:
            group.append(word)
    result = []
    for i, group in enumerate(groups):
        start = seg.start if i == 0 else max(group[0].start, seg.start)
        end = seg.end if i == len(groups) - 1 else min(max(group[-1].end, start), seg.end)
        result.append(Cue(start, end, seg.speaker, " ".join(w.text.strip() for w in group)))
    return result


def _too_long(group: list[Word], word: Word) -> bool:
    chars = sum(len(w.text.strip()) + 1 for w in group) + len(word.text.strip())
    if chars > MAX_CUE_CHARS or word.end - group[0].start > MAX_CUE_SECONDS:
        return True
    # Past half a cue, prefer to break after the end of a sentence or clause.
    half_full = chars > MAX_CUE_CHARS / 2 or word.end - group[0].start > MAX_CUE_SECONDS / 2
    return half_full and group[-1].text.strip()[-1:] in ".?!;:…"


def _split_by_text(seg: Segment, text: str) -> list[Cue]:
    # No usable word times: cut at spaces and share the segment's time in proportion to characters.
    pieces = max(1, math.ceil(len(text) / MAX_CUE_CHARS), math.ceil((seg.end - seg.start) / MAX_CUE_SECONDS))
    target = len(text) / pieces
    chunks: list[str] = [""]
    for token in text.split(" "):
        if chunks[-1] and len(chunks[-1]) + 1 + len(token) > min(target * 1.15, MAX_CUE_CHARS):
            chunks.append(token)
        else:
            chunks[-1] = f"{chunks[-1]} {token}" if chunks[-1] else token
    span, total, done = seg.end - seg.start, sum(len(c) for c in chunks), 0
    out = []
    for chunk in chunks:
        start = seg.start + span * done / total
        done += len(chunk)
        out.append(Cue(start, seg.start + span * done / total, seg.speaker, chunk))
    return out


def _wrap(text: str) -> str:
    """Two lines at the space nearest the middle when one line would be too wide to read."""
    if len(text) <= MAX_LINE_CHARS:
        return text
    middle = len(text) // 2
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return text
    cut = min(spaces, key=lambda i: abs(i - middle))
    return f"{text[:cut]}\n{text[cut + 1 :]}"


def _vtt_escape(text: str) -> str:
    # `&` first; escaping `>` also breaks any `-->` that would read as a timing line.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(result: MeetingResult) -> str:
    blocks = ["WEBVTT"]
    for cue in cues(result):
        voice = _vtt_escape(speaker_name(result, cue.speaker))
        timing = f"{cue_time(cue.start)} --> {cue_time(cue.end)}"
        blocks.append(f"{timing}\n<v {voice}>{_vtt_escape(_wrap(cue.text))}")
    return "\n\n".join(blocks) + "\n"


def to_srt(result: MeetingResult) -> str:
    blocks = []
    for number, cue in enumerate(cues(result), start=1):
        timing = f"{cue_time(cue.start, ',')} --> {cue_time(cue.end, ',')}"
        # SRT has no escaping; a text line that looks like a timing line would confuse players.
        text = _wrap(f"{speaker_name(result, cue.speaker)}: {cue.text}").replace("-->", "->")
        blocks.append(f"{number}\n{timing}\n{text}")
    return "\n\n".join(blocks) + "\n"


# --- markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    """Speech and names are plain text: escape what Markdown (and HTML inside it) would interpret."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def to_markdown(result: MeetingResult) -> str:
    hours = _needs_hours(result)
    lines = [f"# {_md(result.title) or 'Untitled meeting'}", ""]
    lines += [f"Duration: {clock(result.duration, hours=hours)}", ""]
    summary = _summary_paragraphs(result)
    if summary:
        lines += ["## Summary", "", "\n\n".join(_md(p) for p in summary), ""]
    if result.decisions:
        lines += ["## Decisions", "", *(f"- {_md(d)}" for d in result.decisions), ""]
    if result.action_items:
        lines += ["## Action items", ""]
        for item in result.action_items:
            details = []
            if item.owner:
                details.append(f"**{_md(item.owner)}**")
            if item.due:
                details.append(f"due {_md(item.due)}")
            lines.append(f"- [ ] {_md(item.task)}" + (f" — {', '.join(details)}" if details else ""))
        lines.append("")
    if result.topics:
        lines += ["## Topics", ""]
        for topic in result.topics:
            span = f"{clock(topic.start, hours=hours)}–{clock(topic.end, hours=hours)}"
            line = f"- **{_md(topic.title)}** ({span})"
            lines.append(line + (f": {_md(topic.summary)}" if topic.summary.strip() else ""))
        lines.append("")
    lines += ["## Transcript", ""]
    for seg in result.segments:
        who = _md(speaker_name(result, seg.speaker))
        lines += [f"**[{clock(seg.start, hours=hours)}] {who}:** {_md(_said(seg))}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


_RENDERERS: dict[str, Callable[[MeetingResult], str]] = {
    "json": to_json,
    "txt": to_text,
    "vtt": to_vtt,
    "srt": to_srt,
    "md": to_markdown,
}
