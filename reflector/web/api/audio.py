"""What a client downloads of a transcript: its recording (streamed, with byte ranges), the waveform,
and the transcript as a file (txt, srt, vtt, json, md)."""

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal

from litestar import Controller, Request, Response, get, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_206_PARTIAL_CONTENT, HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE

from reflector.bootstrap import Services
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines.formats import render
from reflector.web.api import schemas as s

ExportFormat = Literal["txt", "srt", "vtt", "json", "md"]
# Litestar adds `; charset=utf-8` to text/* types itself.
EXPORT_TYPES: dict[str, str] = {
    "txt": "text/plain",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt",
    "json": "application/json",
    "md": "text/markdown",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range a Range header asks for, as [start, end); None for the whole file.

    A header we cannot read, or one with several ranges, is ignored (RFC 7233 §3.1); a readable one
    that misses the file is refused with 416.
    """
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or match[1] == match[2] == "":
        return None
    first, last = match[1], match[2]
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # not a valid range, so no range at all
        if start >= size:
            _unsatisfiable(size)
        return start, size if not last else min(int(last) + 1, size)
    suffix = int(last)
    if suffix == 0 or size == 0:
        _unsatisfiable(size)
    return max(0, size - suffix), size


def _unsatisfiable(size: int) -> None:
    raise HTTPException(
        status_code=HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
        detail=f"Requested range not satisfiable: the file has {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")


class AudioController(Controller):
    path = "/v1/transcripts"
    opt: ClassVar[dict[str, str]] = {"access": "read"}
    tags: ClassVar[list[str]] = ["transcripts"]

    # One handler for both methods, so HEAD's operation id is GET's with `_head`, as Reflector's.
    @route(
        "/{transcript_id:str}/audio/mp3",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        responses={
            206: ResponseSpec(
                None, media_type="audio/mpeg", description="The bytes a Range header asked for", generate_examples=False
            )
        },
    )
    async def transcript_get_audio_mp3(self, request: Request, services: Services, transcript_id: str) -> Response[Any]:
        key, size = await services.transcripts.playable_audio(transcript_id)
        span = byte_range(request.headers.get("range"), size)
        start, end = span or (0, size)
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": "audio/mpeg",
            "Content-Length": str(end - start),
            "Content-Disposition": f"attachment; filename=recording_{transcript_id.split('-')[0]}.mp3",
        }
        if span is not None:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        status = HTTP_206_PARTIAL_CONTENT if span is not None else HTTP_200_OK
        if request.method == HttpMethod.HEAD:
            return Response(content=b"", status_code=status, headers=headers)
        # Streamed from the store chunk by chunk: never the whole recording in memory, local or S3.
        return Stream(services.storage.open_range(key, start, end), status_code=status, headers=headers)

    @get("/{transcript_id:str}/audio/waveform")
    async def transcript_get_audio_waveform(self, services: Services, transcript_id: str) -> s.AudioWaveform:
        return s.AudioWaveform(data=await services.transcripts.waveform(transcript_id))

    # The body's type follows `format` (text, VTT, SRT, JSON, Markdown), so the document names no single one.
    @get(
        "/{transcript_id:str}/export",
        responses={
            200: ResponseSpec(Any, media_type="*/*", description="The transcript as a file", generate_examples=False)
        },
    )
    async def transcript_export(
        self,
        services: Services,
        transcript_id: str,
        export_format: Annotated[ExportFormat, Parameter(query="format")] = "txt",
    ) -> Response[bytes]:
        """Beyond Reflector: the transcript as a file, rendered as `reflector process --format` prints it."""
        transcript = await services.transcripts.get(transcript_id)
        body = render(await meeting_result(services.transcripts, transcript_id), export_format)
        name = slug(transcript.title) or slug(transcript.name) or "transcript"
        return Response(
            content=body.encode(),
            media_type=EXPORT_TYPES[export_format],
            headers={"Content-Disposition": f'attachment; filename="{name}.{export_format}"'},
        )


ROUTES = [AudioController]
