"""The Trash, /transcripts/trash: the signed-in person's deleted transcripts, each with when it is deleted for
good, Restore and Delete forever. Plain POST forms answered with a redirect; Delete forever asks first on the
same page (a dialog the server renders open), so all of it works without JavaScript. Over RetentionService,
as POST /v1/transcripts/{id}/restore and DELETE /v1/transcripts/trash/{id}."""

import contextlib
from typing import Annotated, Any, ClassVar

import msgspec
import structlog
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.transcripts.access import manages
from reflector.domain.transcripts.models import TranscriptNotFound
from reflector.web.htmx import render

log = structlog.get_logger(__name__)

TEMPLATE = "pages/trash.html"


class DeleteForm(msgspec.Struct):
    confirmed: str = ""


class TrashPage(Controller):
    path = "/transcripts/trash"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "member"}

    @get("/")
    async def trash_page(
        self, request: Request, services: Services, caller: Caller, restored: str | None = None
    ) -> Response[Any]:
        return render(request, TEMPLATE, await _context(services, caller, restored=restored))

    @post("/{transcript_id:str}/restore", status_code=303)
    async def restore(self, services: Services, caller: Caller, transcript_id: str) -> Redirect:
        await services.retention.restore(transcript_id, caller)
        log.info("trash_page.restored", transcript_id=transcript_id)
        return Redirect(f"/transcripts/trash?restored={transcript_id}", status_code=303)

    @post("/{transcript_id:str}/delete", status_code=200)
    async def delete_forever(
        self,
        request: Request,
        services: Services,
        caller: Caller,
        transcript_id: str,
        data: Annotated[DeleteForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        if data.confirmed != "yes":
            context = await _context(services, caller)
            confirm = next((t for t in context["items"] if t.transcript.id == transcript_id), None)
            if confirm is None:
                return Redirect("/transcripts/trash", status_code=303)
            return render(request, TEMPLATE, {**context, "confirm": confirm})
        await services.retention.delete_forever(transcript_id, caller)
        log.info("trash_page.deleted_forever", transcript_id=transcript_id)
        return Redirect("/transcripts/trash", status_code=303)


async def _context(services: Services, caller: Caller, *, restored: str | None = None) -> dict[str, Any]:
    items = await services.retention.trash(caller)
    restored_view = None
    if restored:
        with contextlib.suppress(TranscriptNotFound):  # in the trash again, or purged: no notice
            restored_view = await services.transcripts.get(restored)
        if restored_view is not None and not manages(caller, restored_view.user_id):
            restored_view = None  # another person's: not named here
    return {
        "nav": "trash",
        "items": items,
        "trash_days": round(services.retention.settings.trash_days),
        "restored": restored_view,
        "confirm": None,
    }
