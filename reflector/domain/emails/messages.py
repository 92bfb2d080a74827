"""The two messages a transcript is sent as, each with a text and an HTML part:

- the whole transcript: title, date, duration, short summary, a link, and the transcript attached (Markdown
  or timestamped text, as EMAIL_ATTACHMENT_FORMAT says);
- a link only, for an address that may not read it: no title, summary or words, just that the transcript of
  the room's meeting is ready and that reading it needs signing in with an account it is shared with (the
  room's name is no secret: its page is open to anyone who has the name).
"""

import re
from html import escape

from reflector.adapters.smtp import Attachment, Outgoing
from reflector.domain.transcripts.models import TranscriptView
from reflector.pipelines import formats
from reflector.pipelines.types import MeetingResult

_CONTENT_TYPES = {"md": "text/markdown", "txt": "text/plain"}


def _filename(title: str, fmt: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60] or "transcript"
    return f"{stem}.{fmt}"


def _duration(milliseconds: float) -> str:
    minutes = round(milliseconds / 60000)
    return f"{minutes} min" if minutes else "under a minute"


def whole_transcript(
    transcript: TranscriptView, result: MeetingResult, to: str, link: str, attachment_format: str
) -> Outgoing:
    title = transcript.title or transcript.name or "Meeting transcript"
    when = f"{transcript.created_at:%Y-%m-%d %H:%M} UTC"
    summary = transcript.short_summary or "(no summary)"
    text = (
        f"{title}\n\n{when}, {_duration(transcript.duration)}\n\n{summary}\n\n"
        f"Read it, with its topics and the recording: {link}\n\nThe transcript is attached.\n"
    )
    html = (
        f"<h1>{escape(title)}</h1><p>{escape(when)}, {escape(_duration(transcript.duration))}</p>"
        f"<p>{escape(summary)}</p>"
        f'<p><a href="{escape(link)}">Read it, with its topics and the recording</a></p>'
        "<p>The transcript is attached.</p>"
    )
    body = formats.render(result, attachment_format).encode()
    attachment = Attachment(_filename(title, attachment_format), _CONTENT_TYPES[attachment_format], body)
    return Outgoing(to=to, subject=f"Transcript: {title}", text=text, html=html, attachments=[attachment])


def link_only(room_name: str, to: str, link: str) -> Outgoing:
    where = f"the meeting in {room_name}" if room_name else "your meeting"
    text = (
        f"The transcript of {where} is ready.\n\n"
        f"Sign in to read it: {link}\n\n"
        "It is shown only to accounts it is shared with: if you cannot open it after signing in, ask the "
        "meeting's host to share it with you. Its content is not in this message because this address "
        "belongs to no account that may read it.\n"
    )
    html = (
        f"<p>The transcript of {escape(where)} is ready.</p>"
        f'<p><a href="{escape(link)}">Sign in to read it</a></p>'
        "<p>It is shown only to accounts it is shared with: if you cannot open it after signing in, ask the "
        "meeting's host to share it with you. Its content is not in this message because this address "
        "belongs to no account that may read it.</p>"
    )
    return Outgoing(to=to, subject=f"The transcript of {where} is ready", text=text, html=html)
