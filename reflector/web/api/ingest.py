"""Recordings in: chunked (or single-shot) uploads, and asking for a transcript to be processed."""

from typing import Annotated, ClassVar

import msgspec
from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from reflector.bootstrap import Services
from reflector.domain.transcripts.uploads import MAX_CHUNKS
from reflector.web.api import schemas as s
from reflector.web.deps import cap_upload_body


class ChunkForm(msgspec.Struct):
    chunk: UploadFile


class IngestController(Controller):
    path = "/v1/transcripts"
    opt: ClassVar[dict[str, str]] = {"access": "write"}
    tags: ClassVar[list[str]] = ["transcripts"]

    @post(
        "/{transcript_id:str}/record/upload",
        status_code=200,
        request_max_body_size=None,
        before_request=cap_upload_body,
    )
    async def transcript_record_upload(
        self,
        services: Services,
        transcript_id: str,
        chunk_number: Annotated[int, Parameter(ge=0, lt=MAX_CHUNKS)],
        total_chunks: Annotated[int, Parameter(ge=1, le=MAX_CHUNKS)],
        data: Annotated[ChunkForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> s.UploadStatus:
        try:
            await services.uploads.receive(
                transcript_id, chunk_number, total_chunks, data.chunk.filename, data.chunk.file
            )
        finally:
            await data.chunk.close()
        return s.UploadStatus(status="ok")

    @post("/{transcript_id:str}/process", status_code=200)
    async def transcript_process(self, services: Services, transcript_id: str) -> s.ProcessStatus:
        _, queued = await services.runs.reprocess(transcript_id)
        return s.ProcessStatus(status="ok" if queued else "already running")


ROUTES = [IngestController]
