"""The transcript page, /transcripts/{id}: player, summary, decisions and action items, topics and the
text by topic. One handler serves the page and each of its fragments (`?part=`); edits are plain form
posts to the same TranscriptService calls as PATCH and DELETE /v1/transcripts/{id}."""

import re
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.transcripts.access import can_write
from reflector.domain.transcripts.models import (
    AudioNotFound,
    InvalidTitle,
    ShareMode,
    TranscriptChanges,
    TranscriptView,
)
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.formats import clock, speaker_name
from reflector.pipelines.types import MeetingResult, Word
from reflector.web.deps import provide_caller
from reflector.web.htmx import is_htmx, render
from reflector.web.pages.colours import speaker_colour

TEMPLATE = "pages/transcript.html"
UNFINISHED = ("uploaded", "processing")
EXPORTS = (
    ("txt", "Text"),
    ("md", "Markdown"),
    ("srt", "SubRip subtitles"),
    ("vtt", "WebVTT subtitles"),
    ("json", "JSON"),
)
SHARE_MODES = (("private", "Private"), ("semi-private", "Authenticated users"), ("public", "Public link"))

# The page's fragments: each a block of the page template that htmx may ask for alone.
Part = Literal["heading", "summary", "outcomes", "topics", "text", "share", "reviewed"]
Editable = Literal["title", "summary"]
AudioState = Literal["playable", "deleted", "missing"]


class TranscriptForm(msgspec.Struct):
    """What the page's forms post: any of these, as PATCH /v1/transcripts/{id} takes them."""

    title: str | None = None
    short_summary: str | None = None
    long_summary: str | None = None
    share_mode: ShareMode | None = None
    reviewed: bool | None = None


class Speech(msgspec.Struct, frozen=True):
    """One speaker's consecutive words, as a "[mm:ss] Speaker: text" line."""

    speaker: int
    name: str
    colour: int
    start: float
    words: list[Word]


class TopicText(msgspec.Struct, frozen=True):
    number: int
    title: str
    summary: str
    start: float
    speech: list[Speech]


class SummaryPart(msgspec.Struct):
    heading: str
    paragraphs: list[str]


def speech_of(result: MeetingResult, words: list[Word]) -> list[Speech]:
    """The segments the exports print, each with its words (each segment joins its words with spaces)."""
    speech: list[Speech] = []
    taken = 0
    for segment in segments_from_words(words):
        first, length = taken, -1
        while length < len(segment.text) and taken < len(words):
            length += len(words[taken].text) + 1
            taken += 1
        speaker = segment.speaker
        speech.append(
            Speech(speaker, speaker_name(result, speaker), speaker_colour(speaker), segment.start, words[first:taken])
        )
    return speech


def topic_texts(result: MeetingResult) -> list[TopicText]:
    if not result.topics and result.words:
        return [TopicText(1, "", "", result.words[0].start, speech_of(result, result.words))]
    return [
        TopicText(i, t.title, t.summary, t.start, speech_of(result, t.words)) for i, t in enumerate(result.topics, 1)
    ]


def summary_parts(text: str, shown: str) -> list[SummaryPart]:
    """The long summary's Markdown sections ("## Heading" then paragraphs) as plain text to escape,
    less the paragraphs that repeat the short summary `shown` above it (the pipeline's "Recap")."""
    parts: list[SummaryPart] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        first, _, rest = block.partition("\n")
        if first.startswith("#"):
            parts.append(SummaryPart(first.lstrip("#").strip(), []))
            block = rest
        if block.strip() and block.strip() != shown.strip():
            if not parts:
                parts.append(SummaryPart("", []))
            parts[-1].paragraphs.append(block.strip())
    return [part for part in parts if part.paragraphs]


async def _audio_state(services: Services, transcript: TranscriptView) -> AudioState:
    if transcript.audio_deleted:
        return "deleted"
    try:
        await services.transcripts.playable_audio(transcript.id)
    except AudioNotFound:
        return "missing"
    return "playable"


async def page_context(request: Request, services: Services, transcript_id: str, **state: Any) -> dict[str, Any]:
    transcript = await services.transcripts.get(transcript_id)
    can_edit = can_write(provide_caller(request.scope), transcript)
    if not can_edit:
        state = {**state, "editing": None, "confirm": None}
    people, topics = await services.transcripts.speakers_and_topics(transcript_id)
    result = await meeting_result(
        services.transcripts, transcript_id, transcript=transcript, speakers_and_topics=(people, topics)
    )
    texts = topic_texts(result)
    seconds = result.duration or max((w.end for w in result.words), default=0.0)
    spoken = sorted({s.speaker for t in texts for s in t.speech})
    return {
        "transcript": transcript,
        "result": result,
        "texts": texts,
        "summary": summary_parts(transcript.long_summary, transcript.short_summary),
        "speakers": [(n, speaker_name(result, n), speaker_colour(n)) for n in spoken],
        # Speakers the meeting itself named, with the lines that show it (and a way to take it back).
        "named": {p.speaker: p for p in people if p.evidence and p.speaker is not None},
        "seconds": seconds,
        "clock": lambda at: clock(at, hours=seconds >= 3600),
        "audio": await _audio_state(services, transcript),
        "unfinished": transcript.status in UNFINISHED,
        # Only a transcript still changing listens: a socket replays the whole stored log on connect.
        "live": transcript.status not in ("ended", "error"),
        "exports": EXPORTS,
        "share_modes": SHARE_MODES,
        "public_link": f"{str(request.base_url).rstrip('/')}/transcripts/{transcript_id}",
        "editing": None,
        "saved": None,
        "problem": "",
        "draft": None,
        "confirm": None,
        "can_edit": can_edit,
        # The "Share to Zulip" form, for its owner where a Zulip bot is configured: where it was sent.
        "zulip_posts": await services.zulip.posts(transcript_id) if can_edit and services.zulip.configured else None,
        "zulip_draft": None,
        "zulip_sent": None,
        "zulip_problem": "",
        **state,
    }


def _changed_part(values: dict[str, Any]) -> Part:
    """The fragment that shows what a form changed (each form posts one group of fields)."""
    if "title" in values:
        return "heading"
    if "short_summary" in values or "long_summary" in values:
        return "summary"
    return "reviewed" if "reviewed" in values else "share"


class TranscriptPage(Controller):
    path = "/transcripts/{transcript_id:str}"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "write"}

    @get("/", opt={"access": "read"})
    async def transcript_page(
        self,
        request: Request,
        services: Services,
        transcript_id: str,
        part: Part | None = None,
        edit: Editable | None = None,
        confirm: Literal["delete"] | None = None,
    ) -> Response[Any]:
        """The page; `edit` opens a field's form, `confirm=delete` the delete dialog (both work without JS)."""
        context = await page_context(request, services, transcript_id, editing=edit, confirm=confirm)
        return render(request, TEMPLATE, context, block=part)

    @post("/", status_code=200)
    async def transcript_change(
        self,
        request: Request,
        services: Services,
        transcript_id: str,
        data: Annotated[TranscriptForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Save what a form posted: the page again for a plain form, the changed fragment for htmx."""
        await services.transcripts.get(transcript_id)
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        part = _changed_part(values)
        try:
            changes = TranscriptChanges(**values)
        except InvalidTitle as problem:
            # Keep what was typed, say what to do, and save nothing.
            context = await page_context(
                request, services, transcript_id, editing="title", draft=data, problem=str(problem)
            )
            return render(request, TEMPLATE, context, block=part, status_code=200 if is_htmx(request) else 422)
        await services.transcripts.update(transcript_id, changes)
        if "title" in values or "long_summary" in values:
            await services.zulip.transcript_edited(transcript_id)  # its Zulip messages say what it says now
        if not is_htmx(request):
            return Redirect(f"/transcripts/{transcript_id}", status_code=303)
        context = await page_context(request, services, transcript_id, saved=part)
        return render(request, TEMPLATE, context, block=part)

    @post("/speakers/{participant_id:str}/unname", status_code=200)
    async def unname_speaker(
        self, request: Request, services: Services, transcript_id: str, participant_id: str
    ) -> Response[Any]:
        await services.editor.unname(transcript_id, participant_id)
        return Redirect(f"/transcripts/{transcript_id}", status_code=303)

    @post("/delete", status_code=200)
    async def transcript_delete_page(self, request: Request, services: Services, transcript_id: str) -> Response[Any]:
        await services.transcripts.delete(transcript_id)
        if is_htmx(request):
            return Response("", headers={"HX-Redirect": "/browse"})
        return Redirect("/browse", status_code=303)
