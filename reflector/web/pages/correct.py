"""The correction workspace, /transcripts/{id}/correct: topic by topic, name speakers, reassign and
merge them, fix a word's text. Every action is a plain form post to TranscriptEditor (the service
behind /v1 participants and speakers); htmx swaps only the topic's workspace."""

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.transcripts.editing import InvalidCorrection
from reflector.domain.transcripts.models import ParticipantView, SpeakerConflict, TopicView, TranscriptChanges
from reflector.pipelines.formats import clock
from reflector.pipelines.types import speaker_label
from reflector.web.api.schemas import SPEAKER_MAX, SpeakerNumber
from reflector.web.htmx import is_htmx, render
from reflector.web.pages.colours import speaker_colour

TEMPLATE = "pages/correct.html"
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class Speaker(msgspec.Struct, frozen=True):
    number: int
    label: str  # "Speaker N", what the transcript calls it without a name
    name: str  # the participant's name, or the label
    named: bool
    colour: int


class Run(msgspec.Struct):
    """Consecutive words of one speaker; each word as stored plus its index in the topic."""

    speaker: Speaker
    words: list[dict[str, Any]]


class RenameForm(msgspec.Struct):
    topic: int
    speaker: SpeakerNumber
    name: str = ""


class AssignForm(msgspec.Struct):
    topic: int
    topic_id: str
    first: int
    last: int
    target: str  # "speaker:N", "participant:ID" or "new"
    new_name: str = ""


class MergeForm(msgspec.Struct):
    topic: int
    speaker_from: SpeakerNumber
    speaker_to: SpeakerNumber


class WordForm(msgspec.Struct):
    topic: int
    topic_id: str
    index: int
    text: str = ""


def _base(transcript_id: str) -> str:
    return f"/transcripts/{transcript_id}/correct"


def roster(topics: list[TopicView], participants: list[ParticipantView]) -> list[Speaker]:
    """Every speaker number that says a word or has a participant, with its name and colour."""
    names = {p.speaker: p.name for p in participants if p.speaker is not None}
    numbers = {w.get("speaker", 0) for t in topics for w in t.words} | set(names)
    return [
        Speaker(
            number=n,
            label=speaker_label(n),
            name=names.get(n) or speaker_label(n),
            named=bool(names.get(n)),
            colour=speaker_colour(n),
        )
        for n in sorted(numbers)
    ]


def speaker_runs(topic: TopicView, speakers: dict[int, Speaker]) -> list[Run]:
    runs: list[Run] = []
    for index, word in enumerate(topic.words):
        speaker = speakers[word.get("speaker", 0)]
        if not runs or runs[-1].speaker.number != speaker.number:
            runs.append(Run(speaker=speaker, words=[]))
        runs[-1].words.append({**word, "index": index})
    return runs


async def _workspace(
    services: Services, transcript_id: str, number: int, *, edit: int | None = None, **extra: Any
) -> dict[str, Any]:
    transcript = await services.transcripts.get(transcript_id)
    topics = await services.transcripts.topics(transcript_id)
    participants = await services.transcripts.participants(transcript_id)
    speakers = roster(topics, participants)
    number = min(max(number, 1), max(len(topics), 1))
    topic = topics[number - 1] if topics else None
    return {
        "transcript": transcript,
        "base": _base(transcript_id),
        "topic": topic,
        "number": number,
        "total": len(topics),
        "speakers": speakers,
        "unnumbered": [p for p in participants if p.speaker is None],
        "runs": speaker_runs(topic, {s.number: s for s in speakers}) if topic else [],
        "edit": edit,
        "clock": lambda seconds: clock(seconds, hours=False),
        "selection": None,
        "message": None,
        "error": None,
        "focus_word": None,
        **extra,
    }


async def _answer(request: Request, services: Services, transcript_id: str, number: int, **extra: Any) -> Response[Any]:
    """After an action: the refreshed workspace for htmx, the page again after an error, else a redirect."""
    url = f"{_base(transcript_id)}?topic={number}"
    if not is_htmx(request) and not extra.get("error"):
        return Redirect(url, status_code=303)
    context = await _workspace(services, transcript_id, number, **extra)
    response = render(request, TEMPLATE, context, block="workspace", status_code=400 if extra.get("error") else 200)
    if is_htmx(request):
        response.headers["HX-Replace-Url"] = url
    return response


async def _name_of(services: Services, transcript_id: str, speaker: int) -> str:
    participants = await services.transcripts.participants(transcript_id)
    return next((p.name for p in participants if p.speaker == speaker and p.name), speaker_label(speaker))


def _speaker_number(text: str) -> int | None:
    """The speaker a "speaker:N" choice names; None for anything the page's own choices never send."""
    if not (text.isdecimal() and len(text) <= len(str(SPEAKER_MAX))):  # int() refuses a long run of digits
        return None
    number = int(text)
    return number if number <= SPEAKER_MAX else None


def _words_of(topic: TopicView | None, first: int, last: int) -> list[dict[str, Any]]:
    if topic is None or not (0 <= first < len(topic.words) and 0 <= last < len(topic.words)):
        raise InvalidCorrection("Select the words to assign: click the first word, then shift+click the last")
    low, high = sorted((first, last))
    return topic.words[low : high + 1]


class CorrectPage(Controller):
    path = "/transcripts/{transcript_id:str}/correct"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "write"}

    @get("/")
    async def correct(
        self, request: Request, services: Services, transcript_id: str, topic: int = 1, edit: int | None = None
    ) -> Response[Any]:
        context = await _workspace(services, transcript_id, topic, edit=edit)
        return render(request, TEMPLATE, context, block="workspace")

    @post("/rename", status_code=200)
    async def correct_rename(
        self, request: Request, services: Services, transcript_id: str, data: Annotated[RenameForm, Form]
    ) -> Response[Any]:
        try:
            named = await services.editor.name_speaker(transcript_id, data.speaker, data.name)
        except (InvalidCorrection, SpeakerConflict) as exc:
            return await _answer(request, services, transcript_id, data.topic, error=str(exc))
        message = f"{speaker_label(data.speaker)} is now {named.name}."
        return await _answer(request, services, transcript_id, data.topic, message=message)

    @post("/assign", status_code=200)
    async def correct_assign(
        self, request: Request, services: Services, transcript_id: str, data: Annotated[AssignForm, Form]
    ) -> Response[Any]:
        editor = services.editor
        topic = next((t for t in await services.transcripts.topics(transcript_id) if t.id == data.topic_id), None)
        selection = {"first": data.first, "last": data.last, "target": data.target, "new_name": data.new_name}
        try:
            words = _words_of(topic, data.first, data.last)
            start, end = words[0]["start"], words[-1]["start"]
            kind, _, value = data.target.partition(":")
            if kind == "new":
                name = (await editor.assign_to_new_participant(transcript_id, data.new_name, start=start, end=end)).name
            elif kind == "participant":
                name = (await editor.participant(transcript_id, value)).name
                await editor.assign_speaker(transcript_id, start=start, end=end, participant_id=value)
            elif kind == "speaker" and (speaker := _speaker_number(value)) is not None:
                await editor.assign_speaker(transcript_id, start=start, end=end, speaker=speaker)
                name = await _name_of(services, transcript_id, speaker)
            else:
                raise InvalidCorrection("Choose who said the selected words")
        except (InvalidCorrection, SpeakerConflict) as exc:
            return await _answer(request, services, transcript_id, data.topic, error=str(exc), selection=selection)
        count = f"{len(words)} word{'s' if len(words) != 1 else ''}"
        return await _answer(request, services, transcript_id, data.topic, message=f"Assigned {count} to {name}.")

    @post("/merge", status_code=200)
    async def correct_merge(
        self, request: Request, services: Services, transcript_id: str, data: Annotated[MergeForm, Form]
    ) -> Response[Any]:
        merged = await _name_of(services, transcript_id, data.speaker_from)
        try:
            if data.speaker_from == data.speaker_to:
                raise InvalidCorrection("Choose two different speakers to merge")
            await services.editor.merge_speakers(transcript_id, data.speaker_from, data.speaker_to)
        except (InvalidCorrection, SpeakerConflict) as exc:
            return await _answer(request, services, transcript_id, data.topic, error=str(exc))
        message = f"Merged {merged} into {await _name_of(services, transcript_id, data.speaker_to)}."
        return await _answer(request, services, transcript_id, data.topic, message=message)

    @post("/word", status_code=200)
    async def correct_word(
        self, request: Request, services: Services, transcript_id: str, data: Annotated[WordForm, Form]
    ) -> Response[Any]:
        try:
            await services.editor.edit_word(transcript_id, data.topic_id, data.index, data.text)
        except InvalidCorrection as exc:
            return await _answer(request, services, transcript_id, data.topic, error=str(exc), edit=data.index)
        message = f"Word {data.index + 1} now reads “{' '.join(data.text.split())}”."
        return await _answer(request, services, transcript_id, data.topic, message=message, focus_word=data.index)

    @post("/done", status_code=200)
    async def correct_done(self, services: Services, transcript_id: str) -> Redirect:
        await services.transcripts.get(transcript_id)
        await services.transcripts.update(transcript_id, TranscriptChanges(reviewed=True))
        return Redirect(f"/transcripts/{transcript_id}", status_code=303)
