"""A meeting's own routes (Reflector's views/meetings.py): a participant's consent to be recorded, and
ending the meeting (its room's owner only; Reflector answers others with a 500)."""

from typing import Any, ClassVar, Literal

import msgspec
from litestar import Controller, Request, Response, patch, post

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.ids import new_id
from reflector.web.api.rooms import Meeting, meeting_of


class MeetingConsentRequest(msgspec.Struct):
    consent_given: bool


class ConsentStatus(msgspec.Struct):
    status: Literal["success"]
    consent_id: str


# An anonymous participant's browser, known across its answers: its second answer replaces its first.
PARTICIPANT_COOKIE = "reflector_participant"
PARTICIPANT_LIFETIME_S = 365 * 24 * 3600


def remember_participant(response: Response[Any], anonymous: str, base_url: str) -> None:
    """The anonymous browser's id, for its later answers and for the room's page, which asks no one twice
    (hence the whole site as its path)."""
    response.set_cookie(
        PARTICIPANT_COOKIE,
        anonymous,
        max_age=PARTICIPANT_LIFETIME_S,
        path="/",
        httponly=True,
        secure=base_url.startswith("https://"),
        samesite="lax",
    )


class MeetingsController(Controller):
    path = "/v1/meetings"
    tags: ClassVar[list[str]] = ["meetings"]

    @post("/{meeting_id:str}/consent", status_code=200, opt={"access": "open"})
    async def meeting_audio_consent(
        self, request: Request, services: Services, caller: Caller, meeting_id: str, data: MeetingConsentRequest
    ) -> Response[ConsentStatus]:
        """A participant's answer: one per signed-in person, and one per anonymous browser (a cookie of its
        own, set with the first answer); the latest counts."""
        anonymous = None if caller.user_id else request.cookies.get(PARTICIPANT_COOKIE) or new_id()
        consent = await services.meetings.consent(meeting_id, caller.user_id, data.consent_given, anonymous)
        response = Response(ConsentStatus(status="success", consent_id=consent.id))
        if anonymous is not None:
            remember_participant(response, anonymous, services.settings.server.base_url)
        return response

    @patch("/{meeting_id:str}/deactivate", opt={"access": "room_owner"})
    async def meeting_deactivate(self, services: Services, caller: Caller, meeting_id: str) -> Meeting:
        room = await services.meetings.room_of(meeting_id)
        return meeting_of(caller, room, await services.meetings.end(meeting_id))


ROUTES = [MeetingsController]
