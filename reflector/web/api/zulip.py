"""Sending a transcript to Zulip, Reflector's route and answer (null): the message posted to a stream and
topic, or the one posted there before edited."""

from typing import ClassVar

from litestar import Controller, post

from reflector.bootstrap import Services


class ZulipController(Controller):
    path = "/v1/transcripts"
    tags: ClassVar[list[str]] = ["transcripts"]

    @post("/{transcript_id:str}/zulip", status_code=200, opt={"access": "write"})
    async def transcript_post_to_zulip(
        self, services: Services, transcript_id: str, stream: str = "", topic: str = "", include_topics: bool = False
    ) -> None:
        # `stream` is checked by the service (a sentence, 422), after who may send it was.
        await services.zulip.share(transcript_id, stream, topic, include_topics=include_topics)


ROUTES = [ZulipController]
