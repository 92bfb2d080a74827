"""A meeting's own routes (Reflector's views/meetings.py): a participant's consent to be recorded, and
ending the meeting (its room's owner only; Reflector answers others with a 500)."""

from typing import ClassVar, Literal

import msgspec
from litestar import Controller, patch, post

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.web.api.rooms import Meeting, meeting_of


class MeetingConsentRequest(msgspec.Struct):
    consent_given: bool


class ConsentStatus(msgspec.Struct):
    status: Literal["success"]
    consent_id: str


class MeetingsController(Controller):
    path = "/v1/meetings"
    tags: ClassVar[list[str]] = ["meetings"]

    @post("/{meeting_id:str}/consent", status_code=200, opt={"access": "open"})
    async def meeting_audio_consent(
        self, services: Services, caller: Caller, meeting_id: str, data: MeetingConsentRequest
    ) -> ConsentStatus:
        consent = await services.meetings.consent(meeting_id, caller.user_id, data.consent_given)
        return ConsentStatus(status="success", consent_id=consent.id)

    @patch("/{meeting_id:str}/deactivate", opt={"access": "room_owner"})
    async def meeting_deactivate(self, services: Services, caller: Caller, meeting_id: str) -> Meeting:
        room = await services.meetings.room_of(meeting_id)
        return meeting_of(caller, room, await services.meetings.end(meeting_id))


ROUTES = [MeetingsController]
