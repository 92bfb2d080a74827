"""New transcript: a name, the spoken language and a recording.

With JavaScript, upload.js creates the transcript through POST /v1/transcripts and sends the file in
chunks to /v1/transcripts/{id}/record/upload, asking `upload_state` which chunks the server already
keeps when it resumes. Without it, the form posts the whole file here, through the same domain code.
"""

from typing import Annotated, Any, ClassVar

import msgspec
import structlog
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect

from reflector.bootstrap import Services
from reflector.domain.transcripts.editing import NAME_MAX
from reflector.domain.transcripts.models import (
    NewTranscript,
    NoAudioStream,
    RecordingTooLong,
    Status,
    UploadTooLarge,
)
from reflector.domain.transcripts.uploads import MAX_CHUNKS, StoredChunk
from reflector.pipelines.languages import WHISPER_LANGUAGES
from reflector.pipelines.names import parse_names
from reflector.web.deps import cap_upload_body, provide_services
from reflector.web.errors import status_of
from reflector.web.htmx import render
from reflector.web.request_text import unstorable

log = structlog.get_logger(__name__)

LANGUAGE_CHOICES = [
    ("en", "English"),
    *sorted(((code, name) for code, name in WHISPER_LANGUAGES.items() if code != "en"), key=lambda c: c[1]),
]
ACCEPTED_SUFFIXES = (".mp3", ".m4a", ".wav", ".mp4", ".mov", ".webm", ".ogg", ".flac")
# Small enough that a dropped connection costs little, large enough that requests stay few.
CHUNK_BYTES = 8 * 1024**2


class NewTranscriptForm(msgspec.Struct):
    name: str = ""
    source_language: str = "en"
    participants: str = ""
    file: UploadFile | None = None


class UploadState(msgspec.Struct):
    """What upload.js needs to resume: the transcript's status (anything but `idle` means the upload is
    already complete) and the chunks kept so far."""

    status: Status
    total_chunks: int
    chunks: list[StoredChunk]


def _size_label(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:,.3g} {unit}"
    return f"{size} bytes"


def _form_page(
    request: Request, services: Services, *, values: NewTranscriptForm | None = None, error: str = "", status: int = 200
) -> Response[Any]:
    limit = services.settings.server.max_upload_bytes
    context = {
        "nav": "new",
        "languages": LANGUAGE_CHOICES,
        "accept": ",".join([*ACCEPTED_SUFFIXES, "audio/*", "video/*"]),
        "suffixes": ACCEPTED_SUFFIXES,
        "chunk_bytes": CHUNK_BYTES,
        "max_bytes": limit,
        "max_label": _size_label(limit),
        "too_large": str(UploadTooLarge(limit)),
        "values": values or NewTranscriptForm(),
        "error": error,
    }
    return render(request, "pages/new.html", context, status_code=status)


def _problem_with(form: NewTranscriptForm) -> str:
    # A multipart form is not read before the handler (it carries the recording), so its name is checked here.
    if unstorable(form.name):
        return "The name holds a NUL character (%00), which Reflector can't store: remove it."
    if len(form.name.strip()) > NAME_MAX:
        return f"A name can be at most {NAME_MAX} characters; this one has {len(form.name.strip())}."
    if unstorable(form.participants):
        return "The participants hold a NUL character (%00), which Reflector can't store: remove it."
    if any(len(name) > NAME_MAX for name in parse_names(form.participants)):
        return f"A participant's name can be at most {NAME_MAX} characters."
    if form.source_language not in WHISPER_LANGUAGES:
        return "Choose a language from the list."
    if form.file is None or not form.file.filename:
        return "Choose a recording to upload."
    return ""


def _too_large_page(request: Request, exc: UploadTooLarge) -> Response[Any]:
    # Raised while the body streams in, before there is a form to read back.
    return _form_page(request, provide_services(request.app.state), error=str(exc), status=413)


class NewTranscriptController(Controller):
    path = "/transcripts"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "member"}

    @get("/new")
    async def new_transcript(self, request: Request, services: Services) -> Response[Any]:
        return _form_page(request, services)

    @post(
        "/new",
        request_max_body_size=None,
        before_request=cap_upload_body,
        exception_handlers={UploadTooLarge: _too_large_page},
    )
    async def create_transcript(
        self,
        request: Request,
        services: Services,
        user_id: str | None,
        data: Annotated[NewTranscriptForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[Any]:
        """The form without JavaScript: the whole file in one request, stored as a one-chunk upload."""
        upload = data.file
        values = msgspec.structs.replace(data, name=data.name.strip(), file=None)
        try:
            if problem := _problem_with(data):
                return _form_page(request, services, values=values, error=problem, status=400)
            assert upload is not None
            transcript = await services.transcripts.create(
                NewTranscript(
                    name=values.name,
                    source_kind="file",
                    source_language=data.source_language,
                    target_language=data.source_language,
                    user_id=user_id,
                )
            )
            # Before the upload completes: processing starts with it and reads the names.
            for name in parse_names(values.participants):
                await services.editor.add_participant(transcript.id, name, None)
            try:
                await services.uploads.receive(transcript.id, 0, 1, upload.filename, upload.file)
            except (NoAudioStream, UploadTooLarge, RecordingTooLong) as exc:
                # Nothing of the refused file is kept, so neither is the empty transcript made for it.
                await services.transcripts.discard(transcript.id)
                log.info("upload.refused", transcript_id=transcript.id, reason=type(exc).__name__)
                return _form_page(request, services, values=values, error=str(exc), status=status_of(exc))
        finally:
            if upload is not None:
                await upload.close()
        return Redirect(f"/transcripts/{transcript.id}/processing", status_code=303)

    @get("/{transcript_id:str}/upload", opt={"access": "write"})
    async def upload_state(
        self,
        services: Services,
        transcript_id: str,
        total_chunks: Annotated[int, Parameter(ge=1, le=MAX_CHUNKS)],
    ) -> UploadState:
        """Which chunks of a `total_chunks`-chunk upload the server keeps, for upload.js to resume."""
        chunks = await services.uploads.stored(transcript_id, total_chunks)
        transcript = await services.transcripts.get(transcript_id)
        return UploadState(status=transcript.status, total_chunks=total_chunks, chunks=chunks)
