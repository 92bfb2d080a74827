"""Who may see and change which rooms and meetings: the one place these rules live.

A room is its owner's: only they (or an admin) change or delete it, end its meetings, and see its webhook
secret. A shared room is readable by anyone signed in; an unshared one by its owner alone. A room's page
is public, so anyone may find a room by its name and join its meetings, but the webhook fields and the
meeting's host link are shown to its owner only (Reflector sends a shared room's secret to everyone).
"""

import msgspec

from reflector.domain.auth.models import Caller
from reflector.domain.rooms.models import MeetingView, RoomView
from reflector.domain.transcripts.access import AccessDenied, manages


def owns(caller: Caller, room: RoomView) -> bool:
    return manages(caller, room.user_id)


def can_read(caller: Caller, room: RoomView) -> bool:
    return owns(caller, room) or (room.is_shared and caller.signed_in)


def check_read(caller: Caller, room: RoomView) -> None:
    if not can_read(caller, room):
        raise AccessDenied(caller.signed_in, "Room access denied")


def check_write(caller: Caller, room: RoomView) -> None:
    if not owns(caller, room):
        if can_read(caller, room):
            raise AccessDenied(caller.signed_in, "Only the room's owner can change it")
        raise AccessDenied(caller.signed_in, "Room access denied")


def check_ends_meetings(caller: Caller, room: RoomView) -> None:
    if not owns(caller, room):
        raise AccessDenied(caller.signed_in, "Only the room owner can deactivate meetings")


def shown_room(caller: Caller, room: RoomView) -> RoomView:
    """The room as this caller may see it: without its webhook unless they own it."""
    if owns(caller, room):
        return room
    return msgspec.structs.replace(room, webhook_url=None, webhook_secret=None, webhook_events=None)


def shown_meeting(caller: Caller, room: RoomView, meeting: MeetingView) -> MeetingView:
    """The meeting as this caller may see it: the host's link is for the room's owner."""
    if owns(caller, room):
        return meeting
    return msgspec.structs.replace(meeting, host_room_url="")
