"""What the e-mail module hands out and the ports it needs: the mailer and the job queue."""

import re
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

import msgspec

from reflector.adapters.smtp import Outgoing, Sent
from reflector.domain.errors import Conflict, DomainError

# room: the room's own address (email_transcript_to), chosen by its owner: always the whole transcript.
# participant: an address given during a meeting: the whole transcript only if its owner may read it.
Recipient = Literal["room", "participant"]

# Enough to refuse what is plainly no address (and any header injection); the SMTP server has the last word.
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
ADDRESS_MAX = 320
# The route is open to anyone who has the meeting's id, so one meeting cannot be made to mail any number of
# addresses (each gets at most a link, but a flood of them is still spam sent in our name).
MAX_REQUESTS_PER_MEETING = 100


class EmailRequestView(msgspec.Struct, frozen=True):
    id: str
    meeting_id: str
    email: str
    user_id: str | None
    created_at: datetime


class InvalidEmail(DomainError):
    status: ClassVar[int] = 422

    def __init__(self) -> None:
        super().__init__("That is not an e-mail address: write it as name@example.org")


class EmailNotConfigured(Conflict):
    """No SMTP server is configured: a 409 (this server's state), not a 5xx (nothing failed)."""

    def __init__(self) -> None:
        super().__init__("This server sends no e-mail (its administrator has not set SMTP_HOST)")


class MeetingOver(Conflict):
    def __init__(self) -> None:
        super().__init__("The meeting has ended: ask its host to share the transcript with you")


class TooManyRecipients(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"This meeting already has {MAX_REQUESTS_PER_MEETING} addresses to send its transcript to; "
            "ask its host to share it with you"
        )


def checked_address(text: str) -> str:
    address = text.strip()
    if len(address) > ADDRESS_MAX or not _ADDRESS.match(address):
        raise InvalidEmail()
    return address


class Mailer(Protocol):
    async def send(self, mail: Outgoing) -> Sent: ...


class MailQueue(Protocol):
    async def enqueue(self, policy: Any, *args: Any, job_id: str, defer_s: float = 0) -> None: ...
