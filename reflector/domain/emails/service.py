"""Transcripts by e-mail: the use cases the composition root, the API and the worker's job call.

Who gets what, once a transcript's processing has succeeded:
- its room's `email_transcript_to` (set by the room's owner): the whole transcript;
- each address a participant gave during its meeting (POST /v1/meetings/{id}/email-recipient): the whole
  transcript only when the address is a user's who may read it (its owner, an admin, anyone signed in for a
  semi-private one, anyone at all for a public one); any other address gets a link that asks to sign in.
The transcript's share mode is never changed to make a message possible (Reflector makes it public).

Each message is a job of its own (jobs.py), off the run's path: a temporary refusal (4xx) or a server that
does not answer is tried again on EMAIL_RETRY_SCHEDULE, a permanent one (5xx) is logged and dropped.
Addresses are logged by their domain only.
"""

import uuid

import structlog

from reflector.domain.auth.models import ANONYMOUS, Caller
from reflector.domain.auth.service import AuthService
from reflector.domain.emails import messages, models
from reflector.domain.emails import repository as repo
from reflector.domain.emails.jobs import SEND
from reflector.domain.emails.models import (
    EmailNotConfigured,
    EmailRequestView,
    Mailer,
    MailQueue,
    MeetingOver,
    Recipient,
    TooManyRecipients,
    checked_address,
)
from reflector.domain.errors import NotFound
from reflector.domain.rooms.service import MeetingService, RoomService
from reflector.domain.transcripts.access import can_read
from reflector.domain.transcripts.models import TranscriptView
from reflector.domain.transcripts.service import TranscriptService, meeting_result
from reflector.settings import EmailSettings

log = structlog.get_logger(__name__)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


class EmailService:
    def __init__(
        self,
        transcripts: TranscriptService,
        rooms: RoomService,
        auth: AuthService,
        mailer: Mailer | None,
        queue: MailQueue,
        settings: EmailSettings,
        base_url: str,
    ) -> None:
        self._transcripts = transcripts
        self._rooms = rooms
        # Set by the composition root once built (the meetings are built after the runs that tell us).
        self.meetings: MeetingService | None = None
        self._auth = auth
        self._mailer = mailer  # None: no SMTP_HOST, nothing is sent
        self._queue = queue
        self._settings = settings
        self._base_url = base_url.rstrip("/")

    # --- what is asked --------------------------------------------------------------------------------

    async def request(self, meeting_id: str, email: str, caller: Caller) -> EmailRequestView:
        """A participant asks, during the meeting, for its transcript at `email`, to be sent once it is ready."""
        if self._mailer is None:
            raise EmailNotConfigured()
        address = checked_address(email)
        assert self.meetings is not None, "the composition root sets the meetings"
        meeting = await self.meetings.get(meeting_id)  # NotFound: no such meeting
        if not meeting.is_active:
            raise MeetingOver()
        request = await repo.add_request(meeting.id, address, caller.user_id, models.MAX_REQUESTS_PER_MEETING)
        if request is None:
            raise TooManyRecipients()
        log.info("email.requested", meeting_id=meeting.id, to_domain=_domain(address), signed_in=caller.signed_in)
        return request

    # --- a run's end (the processing module's RunListener) --------------------------------------------

    async def run_finished(self, transcript_id: str, *, succeeded: bool, error: str) -> None:
        """A transcript is ready: a message queued for its room's address and each participant who asked."""
        if not succeeded or self._mailer is None:
            return
        transcript = await self._transcripts.get(transcript_id)
        room = await self._rooms.find(transcript.room_id)
        sent_to: set[str] = set()
        if room is not None and room.email_transcript_to:
            await self._queue_send(transcript_id, room.email_transcript_to, "room")
            sent_to.add(room.email_transcript_to.lower())
        if transcript.meeting_id is not None:
            for request in await repo.requests_of(transcript.meeting_id):
                if request.email.lower() not in sent_to:  # the room's address already gets the whole of it
                    await self._queue_send(transcript_id, request.email, "participant")

    async def _queue_send(self, transcript_id: str, to: str, recipient: Recipient) -> None:
        send_id = uuid.uuid4().hex  # one per message, the same over its attempts
        await self._queue.enqueue(SEND, send_id, transcript_id, to, recipient, 1, job_id=f"email:{send_id}:1")
        log.info("email.queued", send_id=send_id, transcript_id=transcript_id, recipient=recipient)

    # --- one attempt (the job) ------------------------------------------------------------------------

    async def send(self, send_id: str, transcript_id: str, to: str, recipient: Recipient, attempt: int) -> str:
        """One attempt at the message; what it came to: delivered, retry, failed, gone."""
        if self._mailer is None:
            return "failed"
        try:
            transcript = await self._transcripts.get(transcript_id)
        except NotFound:
            log.info("email.transcript_gone", send_id=send_id, transcript_id=transcript_id)
            return "gone"
        whole = recipient == "room" or await self._may_read(to, transcript)
        link = f"{self._base_url}/transcripts/{transcript_id}"
        if whole:
            result = await meeting_result(self._transcripts, transcript_id, transcript=transcript)
            mail = messages.whole_transcript(transcript, result, to, link, self._settings.attachment_format)
        else:
            room = await self._rooms.find(transcript.room_id)
            mail = messages.link_only(room.name if room else "", to, link)
        sent = await self._mailer.send(mail)
        fields = dict(
            send_id=send_id, transcript_id=transcript_id, recipient=recipient, to_domain=_domain(to),
            attempt=attempt, content="transcript" if whole else "link",
        )  # fmt: skip
        if sent.delivered:
            log.info("email.delivered", **fields)
            return "delivered"
        delays = self._settings.retry_delays
        if sent.temporary and attempt <= len(delays):
            delay = delays[attempt - 1]
            log.info("email.retrying", **fields, code=sent.code, error=sent.error, retry_in_s=delay)
            await self._queue.enqueue(
                SEND, send_id, transcript_id, to, recipient, attempt + 1, job_id=f"email:{send_id}:{attempt + 1}",
                defer_s=delay,
            )  # fmt: skip
            return "retry"
        log.warning("email.failed", **fields, code=sent.code, error=sent.error)
        return "failed"

    async def _may_read(self, address: str, transcript: TranscriptView) -> bool:
        """Whether a user whose account has this address may read the transcript (an address of nobody's
        reads what anyone may: a public transcript)."""
        users = await self._auth.users_with_email(address)
        callers = [Caller(user_id=u.id, role=u.role, via="token") for u in users] or [ANONYMOUS]
        return any(can_read(caller, transcript) for caller in callers)
