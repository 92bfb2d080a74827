"""A room's page, /{room_name} (Reflector's): "Join now", the meetings on now and those the calendar has
coming, the room's past transcripts (Reflector #427), and "End meeting" for its owner; and a meeting's page,
/{room_name}/{meeting_id}, with the link into the video platform (the join token the API gives) and, when
the room records and asks, the consent question.

Its routes are the app's only ones whose first segment is a parameter: Litestar's router tries a literal
segment first, so /browse, /rooms, /transcripts/… and the rest are never taken for a room (and their names
are reserved: rooms.service.RESERVED_NAMES). Everything is a plain link or form first; rooms.js opens the
consent question as a modal and sends the answer to POST /v1/meetings/{id}/consent.
"""

from datetime import timedelta
from typing import Any, ClassVar

import structlog
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.ids import new_id, now
from reflector.domain.rooms.access import owns, shown_meeting
from reflector.domain.rooms.models import MeetingView, RoomView
from reflector.domain.transcripts.access import listing_for
from reflector.domain.transcripts.search import SearchQuery, search_transcripts
from reflector.web.api.meetings import PARTICIPANT_COOKIE, remember_participant
from reflector.web.htmx import render
from reflector.web.pages.rooms import PLATFORMS

log = structlog.get_logger(__name__)

UPCOMING = timedelta(days=7)
PAST_TRANSCRIPTS = 20
# The platforms whose meeting page frames their room.
EMBEDDED = frozenset({"daily", "whereby"})


def asks_consent(room: RoomView, meeting: MeetingView) -> bool:
    """Whether people are asked before being recorded: the meeting records and the room does not only
    inform them."""
    return meeting.recording_type != "none" and not room.skip_consent


async def _room_context(services: Services, caller: Caller, room: RoomView) -> dict[str, Any]:
    owner = owns(caller, room)
    at = now()
    meetings = [shown_meeting(caller, room, m) for m in await services.meetings.active(room)]
    upcoming = await services.calendars.events(room, owner, start=at, end=at + UPCOMING)
    # Only the transcripts this person may read: a room's page is open to anyone.
    found = await search_transcripts(SearchQuery(listing=listing_for(caller), room_id=room.id, limit=PAST_TRANSCRIPTS))
    return {
        "nav": "rooms",
        "room": room,
        "owner": owner,
        "platform": PLATFORMS[room.platform],
        "meetings": meetings,
        "upcoming": [e for e in upcoming if e.start_time > at],
        "transcripts": found.hits,
        "now": at,
    }


class RoomPage(Controller):
    path = "/{room_name:str}"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "open"}

    @get("/")
    async def room(self, request: Request, services: Services, caller: Caller, room_name: str) -> Response[Any]:
        room = await services.rooms.named(room_name)
        return render(request, "pages/room.html", await _room_context(services, caller, room))

    @post("/join")
    async def join(self, services: Services, room_name: str) -> Redirect:
        """The room's meeting, opened or reused (MeetingService, as POST /v1/rooms/{name}/meeting)."""
        room = await services.rooms.named(room_name)
        meeting = await services.meetings.meeting_for(room)
        return Redirect(f"/{room.name}/{meeting.id}", status_code=303)

    @get("/{meeting_id:str}")
    async def meeting(
        self, request: Request, services: Services, caller: Caller, room_name: str, meeting_id: str
    ) -> Response[Any]:
        """The meeting as this person joins it (their token in the link, as the API's join gives it)."""
        room = await services.rooms.named(room_name)
        joined = shown_meeting(caller, room, await services.meetings.join(room, meeting_id, caller, None))
        anonymous = None if caller.user_id else request.cookies.get(PARTICIPANT_COOKIE)
        answer = await services.meetings.answer_of(joined.id, caller.user_id, anonymous)
        owner = owns(caller, room)
        # Whereby gives its host link to the room's owner only (shown_meeting blanks it for anyone else).
        host = owner and joined.platform == "whereby" and joined.host_room_url
        context = {
            "nav": "rooms",
            "room": room,
            "owner": owner,
            "link": joined.host_room_url if host else joined.room_url,
            "platform": PLATFORMS[room.platform],
            # Daily's and Whereby's rooms are web pages made to be framed (security.py lets them); a LiveKit
            # link needs a LiveKit client, so it only opens.
            "embed": joined.platform in EMBEDDED,
            "meeting": joined,
            "asks_consent": asks_consent(room, joined),
            "answer": answer,
        }
        return render(request, "pages/room_meeting.html", context)

    @post("/{meeting_id:str}/consent")
    async def consent(
        self, request: Request, services: Services, caller: Caller, room_name: str, meeting_id: str
    ) -> Response[Any]:
        """The consent question answered without JavaScript: the same answer the API keeps, the same cookie."""
        room = await services.rooms.named(room_name)
        meeting = await services.meetings.in_room(room, meeting_id)
        given = (await request.form()).get("consent") == "yes"
        anonymous = None if caller.user_id else request.cookies.get(PARTICIPANT_COOKIE) or new_id()
        await services.meetings.consent(meeting.id, caller.user_id, given, anonymous)
        response: Response[Any] = Redirect(f"/{room.name}/{meeting.id}", status_code=303)
        if anonymous is not None:
            remember_participant(response, anonymous, services.settings.server.base_url)
        return response

    @post("/{meeting_id:str}/end", opt={"access": "room_owner"})
    async def end(self, services: Services, room_name: str, meeting_id: str) -> Redirect:
        room = await services.rooms.named(room_name)
        meeting = await services.meetings.in_room(room, meeting_id)
        await services.meetings.end(meeting.id)
        log.info("room_page.meeting_ended", room_id=room.id, meeting_id=meeting.id)
        return Redirect(f"/{room.name}", status_code=303)
