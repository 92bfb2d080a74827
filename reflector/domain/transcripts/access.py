"""Who may read, change and list which transcripts: the one place these rules live.

A transcript is its owner's. Share modes open reading only: `public` to anyone with the link,
`semi-private` to anyone signed in, `private` to nobody else. Changing it (editing, speakers, upload,
reprocess, delete) is the owner's alone. An admin is an operator and may do all of it to every
transcript. Lists and searches show a caller what is theirs (an admin: everything; an anonymous
visitor in PUBLIC_MODE: public transcripts), never another person's title or snippet because it is shared.
"""

from typing import ClassVar

import msgspec

from reflector.domain.auth.models import Caller
from reflector.domain.errors import DomainError
from reflector.domain.transcripts.models import TranscriptView


class AccessDenied(DomainError):
    """The caller may not do this to the transcript; `signed_in` tells whether signing in could help."""

    status: ClassVar[int] = 403

    def __init__(self, signed_in: bool, message: str = "Transcript access denied") -> None:
        self.signed_in = signed_in
        super().__init__(message)


def manages(caller: Caller, owner_id: str | None) -> bool:
    """Whether the caller may change what `owner_id` owns: it is theirs, or they are an admin."""
    return caller.admin or (caller.user_id is not None and owner_id == caller.user_id)


def _owns(caller: Caller, transcript: TranscriptView) -> bool:
    return manages(caller, transcript.user_id)


def can_read(caller: Caller, transcript: TranscriptView) -> bool:
    if _owns(caller, transcript) or transcript.share_mode == "public":
        return True
    return transcript.share_mode == "semi-private" and caller.signed_in


def can_write(caller: Caller, transcript: TranscriptView) -> bool:
    return _owns(caller, transcript)


def check_read(caller: Caller, transcript: TranscriptView) -> None:
    if not can_read(caller, transcript):
        raise AccessDenied(caller.signed_in)


def check_write(caller: Caller, transcript: TranscriptView) -> None:
    if not can_write(caller, transcript):
        if can_read(caller, transcript):
            raise AccessDenied(caller.signed_in, "Only the transcript's owner can change it")
        raise AccessDenied(caller.signed_in)


class Listing(msgspec.Struct, frozen=True):
    """Which transcripts a list or search may show: all, one owner's, or the public ones."""

    everything: bool = False
    owner_id: str | None = None
    public_only: bool = False


def listing_for(caller: Caller) -> Listing:
    if caller.admin:
        return Listing(everything=True)
    if caller.user_id is not None:
        return Listing(owner_id=caller.user_id)
    return Listing(public_only=True)
