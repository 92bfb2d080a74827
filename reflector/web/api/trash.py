"""The trash (ours; Reflector deletes at once): `DELETE /v1/transcripts/{id}` keeps Reflector's answer but
moves the transcript to its owner's trash, from which it can be restored, or deleted forever, until the
retention sweep purges it after TRASH_DAYS. Only the owner (or an admin) sees or touches a trashed
transcript: to anyone else it does not exist (404)."""

from datetime import datetime
from typing import ClassVar

from litestar import Controller, delete, get, post

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.web.api import schemas as s


class TrashedTranscript(s.GetTranscriptMinimal):
    deleted_at: datetime  # when it went to the trash
    purge_at: datetime  # when it is deleted for good, unless restored


class TrashController(Controller):
    path = "/v1/transcripts"
    tags: ClassVar[list[str]] = ["trash"]

    @get("/trash", opt={"access": "member"})
    async def transcripts_trash(self, services: Services, caller: Caller) -> list[TrashedTranscript]:
        """The caller's deleted transcripts, the most recently deleted first."""
        return [
            s.minimal(t.transcript, TrashedTranscript, deleted_at=t.transcript.deleted_at, purge_at=t.purge_at)
            for t in await services.retention.trash(caller)
        ]

    @post("/{transcript_id:str}/restore", status_code=200, opt={"access": "member"})
    async def transcript_restore(
        self, services: Services, caller: Caller, transcript_id: str
    ) -> s.GetTranscriptMinimal:
        """Take a deleted transcript out of the trash, as it was."""
        return s.minimal(await services.retention.restore(transcript_id, caller))

    @delete("/trash/{transcript_id:str}", status_code=200, opt={"access": "member"})
    async def transcript_delete_forever(
        self, services: Services, caller: Caller, transcript_id: str
    ) -> s.DeletionStatus:
        """Delete a transcript in the trash for good now: its audio, recordings and text."""
        await services.retention.delete_forever(transcript_id, caller)
        return s.DeletionStatus(status="ok")


ROUTES = [TrashController]
