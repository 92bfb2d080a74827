"""A participant asks, during a meeting, for its transcript by e-mail (Reflector's
POST /v1/meetings/{meeting_id}/email-recipient, `{email}`, open to anyone in the meeting as its room page is).

The address is kept; once the transcript is ready it gets the whole transcript only if the address is a
user's who may read it, otherwise a link that asks to sign in (reflector.domain.emails). The transcript's
share mode is left as it is."""

from typing import ClassVar, Literal

import msgspec
from litestar import Controller, post

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller


class EmailRecipientRequest(msgspec.Struct):
    email: str


class EmailRecipientStatus(msgspec.Struct):
    status: Literal["success"]


class MeetingEmailController(Controller):
    path = "/v1/meetings"
    tags: ClassVar[list[str]] = ["meetings"]

    @post("/{meeting_id:str}/email-recipient", status_code=200, opt={"access": "open"})
    async def add_email_recipient(
        self, services: Services, caller: Caller, meeting_id: str, data: EmailRecipientRequest
    ) -> EmailRecipientStatus:
        """Send this meeting's transcript to `email` once it is ready (the whole transcript only to an address
        whose account may read it; any other address gets a link that asks to sign in)."""
        await services.emails.request(meeting_id, data.email, caller)
        return EmailRecipientStatus(status="success")


ROUTES = [MeetingEmailController]
