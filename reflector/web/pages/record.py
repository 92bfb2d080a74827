"""Record a meeting live: /transcripts/live makes a live transcript, /transcripts/{id}/record records it.

The recorder (record.js) sends the microphone, optionally mixed with a browser tab's audio, over WebRTC to
POST /v1/transcripts/{id}/record/webrtc, shows live captions from the transcript's events, and follows to
the processing page when the recording stops.
"""

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from reflector.bootstrap import Services
from reflector.domain.health import captions_available
from reflector.domain.transcripts.editing import NAME_MAX
from reflector.domain.transcripts.models import NewTranscript
from reflector.pipelines.languages import WHISPER_LANGUAGES
from reflector.web.htmx import render
from reflector.web.pages.new import LANGUAGE_CHOICES


class LiveForm(msgspec.Struct):
    name: str = ""
    source_language: str = "en"
    target_language: str = ""  # "": no translation


class RecordController(Controller):
    path = "/transcripts"
    include_in_schema = False

    @get("/live", opt={"access": "member"})
    async def live_form(self, request: Request) -> Response[Any]:
        return render(request, "pages/live.html", {"nav": "live", "languages": LANGUAGE_CHOICES, "error": ""})

    @post("/live", opt={"access": "member"})
    async def start_live(
        self,
        request: Request,
        services: Services,
        user_id: str | None,
        data: Annotated[LiveForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        problem = ""
        if data.source_language not in WHISPER_LANGUAGES or data.target_language not in ("", *WHISPER_LANGUAGES):
            problem = "Choose a language from the list."
        elif len(data.name.strip()) > NAME_MAX:
            problem = f"A name can be at most {NAME_MAX} characters; this one has {len(data.name.strip())}."
        if problem:
            context = {"nav": "live", "languages": LANGUAGE_CHOICES, "error": problem}
            return render(request, "pages/live.html", context, status_code=400)
        transcript = await services.transcripts.create(
            NewTranscript(
                name=data.name.strip(),
                source_kind="live",
                source_language=data.source_language,
                target_language=data.target_language or data.source_language,
                user_id=user_id,
            )
        )
        return Redirect(f"/transcripts/{transcript.id}/record", status_code=303)

    @get("/{transcript_id:str}/record", opt={"access": "write"})
    async def record_page(self, request: Request, services: Services, transcript_id: str) -> Response[Any]:
        transcript = await services.transcripts.get(transcript_id)
        if transcript.status in ("uploaded", "processing"):
            return Redirect(f"/transcripts/{transcript_id}/processing", status_code=303)
        if transcript.status in ("ended", "error"):
            return Redirect(f"/transcripts/{transcript_id}", status_code=303)
        context = {
            "nav": "live",
            "transcript": transcript,
            "display_name": transcript.name or "New meeting",
            "captions_available": await captions_available(services.redis),
        }
        return render(request, "pages/record.html", context)
