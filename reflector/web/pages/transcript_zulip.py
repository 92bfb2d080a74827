"""The transcript page's "Share to Zulip" form, posted to /transcripts/{id}/zulip: the same ZulipService
call as POST /v1/transcripts/{id}/zulip, the page shown again with what happened."""

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, Request, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Response

from reflector.bootstrap import Services
from reflector.domain.errors import DomainError
from reflector.web.htmx import render
from reflector.web.pages.transcript import TEMPLATE, page_context


class ZulipForm(msgspec.Struct):
    stream: str = ""
    topic: str = ""
    include_topics: str = ""  # the checkbox: "true" when ticked, absent otherwise


class TranscriptZulipPage(Controller):
    path = "/transcripts/{transcript_id:str}/zulip"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "write"}

    @post("/", status_code=200)
    async def share_to_zulip(
        self,
        request: Request,
        services: Services,
        transcript_id: str,
        data: Annotated[ZulipForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        state: dict[str, Any] = {"zulip_draft": data}
        status = 200
        try:
            state["zulip_sent"] = await services.zulip.share(
                transcript_id, data.stream, data.topic, include_topics=data.include_topics == "true"
            )
        except DomainError as problem:
            if problem.status == 404:
                raise
            # Keep what was typed and say what to do; nothing was posted.
            state["zulip_problem"], status = str(problem), 422
        context = await page_context(request, services, transcript_id, **state)
        return render(request, TEMPLATE, context, status_code=status)
