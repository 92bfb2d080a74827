"""Zulip for Reflector's clients: sending a transcript (its route and answer, null: the message posted to a
stream and topic, or the one posted there before edited), and the streams and topics to choose from."""

from typing import ClassVar

import msgspec
from litestar import Controller, get, post

from reflector.bootstrap import Services


class Stream(msgspec.Struct):
    stream_id: int
    name: str


class Topic(msgspec.Struct):
    name: str


class ZulipController(Controller):
    path = "/v1/transcripts"
    tags: ClassVar[list[str]] = ["transcripts"]

    @post("/{transcript_id:str}/zulip", status_code=200, opt={"access": "write"})
    async def transcript_post_to_zulip(
        self, services: Services, transcript_id: str, stream: str = "", topic: str = "", include_topics: bool = False
    ) -> None:
        # `stream` is checked by the service (a sentence, 422), after who may send it was.
        await services.zulip.share(transcript_id, stream, topic, include_topics=include_topics)


class ZulipStreamsController(Controller):
    path = "/v1/zulip"
    tags: ClassVar[list[str]] = ["zulip"]

    @get("/streams", opt={"access": "member"})
    async def zulip_get_streams(self, services: Services) -> list[Stream]:
        return [Stream(stream_id=s.stream_id, name=s.name) for s in await services.zulip.streams()]

    @get("/streams/{stream_id:int}/topics", opt={"access": "member"})
    async def zulip_get_topics(self, services: Services, stream_id: int) -> list[Topic]:
        return [Topic(name=t.name) for t in await services.zulip.topics(stream_id)]


ROUTES = [ZulipController, ZulipStreamsController]
