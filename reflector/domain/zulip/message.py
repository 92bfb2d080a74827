"""Reflector's Zulip message for a transcript (its server/reflector/zulip.py layout, written anew): a heading
with the title, the date as a Zulip time token (shown in each reader's own zone), a link to the transcript,
the duration, the long summary in a collapsed spoiler, optionally the topics in another, and a rule."""

from datetime import datetime
from urllib.parse import urlsplit

from reflector.domain.transcripts.models import TopicView, TranscriptView


def clock(seconds: float) -> str:
    """h:mm:ss, as Reflector writes durations and topic times."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def transcript_url(base_url: str, transcript_id: str) -> str:
    return f"{base_url.rstrip('/')}/transcripts/{transcript_id}"


def zulip_time(at: datetime) -> str:
    return f"<time:{at.isoformat()}>"


def transcript_message(transcript: TranscriptView, topics: list[TopicView] | None, *, base_url: str) -> str:
    """The message's Markdown; `topics` None leaves the topics out."""
    url = transcript_url(base_url, transcript.id)
    lines = [
        f"# Reflector – {transcript.title or 'Unnamed recording'}",
        "",
        f"**Date**: {zulip_time(transcript.created_at)}",
        f"**Link**: [{urlsplit(url).netloc}]({url})",
        f"**Duration**: {clock(transcript.duration / 1000)}",  # stored in milliseconds, as Reflector
        "",
        "```spoiler Summary",
        transcript.long_summary.strip() or "No summary available",
        "```",
        "",
    ]
    if topics is not None:
        lines += ["```spoiler Topics"]
        lines += [f"{n}. [{clock(t.timestamp)}] {t.title}" for n, t in enumerate(topics, start=1)]
        lines += ["```", ""]
    lines.append("-----")
    return "\n".join(lines)


def failure_message(transcript: TranscriptView, error: str, *, base_url: str) -> str:
    """A room's stream told that its meeting's transcript could not be made, and why."""
    url = transcript_url(base_url, transcript.id)
    return "\n".join(
        [
            f"# Reflector – {transcript.title or transcript.name or 'Unnamed recording'}",
            "",
            f"**Processing failed**: {error or 'no reason was recorded'}",
            f"**Link**: [{urlsplit(url).netloc}]({url})",
            "",
            "-----",
        ]
    )
