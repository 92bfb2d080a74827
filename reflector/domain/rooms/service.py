"""Rooms and their meetings: the use cases the API and the pages call.

A room's name is the slug of its page, unique. A meeting is opened on the room's video platform through
the `VideoPlatform` port; while the room's latest meeting is active, unexpired and still has the room's
settings, everyone joining gets that one (under a Redis lock, so two people joining at once do not open
two platform rooms).
"""

import base64
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import LockError

from reflector.domain.auth.models import Caller
from reflector.domain.ids import looks_like_id, new_id, now
from reflector.domain.rooms import platform_events
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.access import owns
from reflector.domain.rooms.lifecycle import MeetingLifecycle, MeetingPolicy, SweepReport, reusable, room_lock
from reflector.domain.rooms.models import (
    ConsentView,
    InvalidRoomName,
    MeetingCreationBusy,
    MeetingListener,
    MeetingNotActive,
    MeetingNotFound,
    MeetingView,
    NoWebhookUrl,
    PlatformMeeting,
    PlatformNotConfigured,
    RoomChanges,
    RoomNotFound,
    RoomSettings,
    RoomView,
    VideoPlatform,
)
from reflector.domain.rooms.platform_events import Outcome, ReceivedEvent
from reflector.domain.transcripts.service import TranscriptService

log = structlog.get_logger(__name__)


@runtime_checkable
class JoinsWithTokens(Protocol):
    """A platform whose links carry a token of the person joining (Daily, LiveKit)."""

    async def join_url(self, room_url: str, room_name: str, *, user_id: str | None, name: str, owner: bool) -> str: ...


# Paths of our own pages and Reflector's, which a room's page (/{name}) must not shadow.
RESERVED_NAMES = frozenset(
    {
        "browse",
        "rooms",
        "transcripts",
        "settings",
        "login",
        "logout",
        "auth",
        "static",
        "health",
        "metrics",
        "schema",
        "v1",
    }
)
MEETING_LENGTH = timedelta(hours=8)
# The settings a meeting keeps from its room: a room changed since gets a new meeting.
_SNAPSHOT = ("is_locked", "room_mode", "recording_type", "recording_trigger", "store_video", "platform")


async def _open_meeting(
    room: RoomView, opened: PlatformMeeting, at: datetime, end: datetime, **extra: Any
) -> MeetingView:
    """The meeting row of a room's call the platform just opened, with the room's settings as they are now."""
    return await repo.insert_meeting(
        {f: getattr(room, f) for f in _SNAPSHOT}
        | {
            "room_id": room.id,
            "platform_id": opened.platform_id,
            "room_name": opened.room_name,
            "room_url": opened.room_url,
            "host_room_url": opened.host_room_url,
            "start_date": at,
            "end_date": end,
            "empty_since": at,
        }
        | extra
    )


def room_slug(name: str) -> str:
    """`Team Stand-up!` → `team-stand-up`: lower case ASCII letters, digits and single dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:
        raise InvalidRoomName("Give the room a name with letters or digits")
    if slug in RESERVED_NAMES:
        raise InvalidRoomName(f"{slug!r} is a page of Reflector's own: choose another room name")
    return slug


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class RoomService:
    def __init__(self, transcripts: TranscriptService | None = None) -> None:
        # Told when a room goes, so its transcripts stay with their owners in no room.
        self._transcripts = transcripts

    async def create(self, owner_id: str, settings: RoomSettings) -> RoomView:
        values = {f: getattr(settings, f) for f in settings.__struct_fields__}
        values["name"] = room_slug(settings.name)
        if values["webhook_url"] and not values["webhook_secret"]:
            values["webhook_secret"] = new_webhook_secret()
        room = await repo.insert_room({**values, "user_id": owner_id})
        log.info("room.created", room_id=room.id, platform=room.platform)
        return room

    async def get(self, room_id: str) -> RoomView:
        room = await repo.get_room(room_id) if looks_like_id(room_id) else None
        if room is None:
            raise RoomNotFound()
        return room

    async def find(self, room_id: str | None) -> RoomView | None:
        """The room, or None when there is none by that id (or no id): a transcript's room may be gone."""
        if room_id is None:
            return None
        try:
            return await self.get(room_id)
        except RoomNotFound:
            return None

    async def named(self, name: str) -> RoomView:
        room = await repo.room_named(name) if 0 < len(name) <= 255 else None
        if room is None:
            raise RoomNotFound()
        return room

    async def page(self, caller: Caller, page: int, size: int) -> tuple[list[RoomView], int]:
        """The caller's rooms and the shared ones, newest first (an admin: every room)."""
        return await repo.page_of_rooms(user_id=caller.user_id, everything=caller.admin, page=page, size=size)

    async def update(self, room_id: str, changes: RoomChanges) -> RoomView:
        room = await self.get(room_id)
        values = changes.values()
        if "name" in values:
            values["name"] = room_slug(values["name"])
        url = values.get("webhook_url", room.webhook_url)
        secret = values.get("webhook_secret", room.webhook_secret)
        if url and not secret:
            values["webhook_secret"] = new_webhook_secret()
        if "webhook_url" in values or "webhook_secret" in values:
            # A receiver that answered 410 is written to again once its owner points the room somewhere.
            values.update(webhook_disabled_at=None, webhook_disabled_reason="")
        if values:
            await repo.update_room(room_id, values)
        return await self.get(room_id)

    async def rotate_webhook_secret(self, room_id: str, grace: timedelta) -> RoomView:
        """A new secret for the room's webhook; the one it replaces goes on signing beside it for `grace`, so
        receivers can move to the new one without refusing a delivery in between."""
        room = await self.get(room_id)
        if not room.webhook_url:
            raise NoWebhookUrl()
        await repo.update_room(
            room_id,
            {
                "webhook_secret": new_webhook_secret(),
                "webhook_previous_secret": room.webhook_secret,
                "webhook_previous_until": now() + grace if room.webhook_secret else None,
            },
        )
        log.info("room.webhook_secret_rotated", room_id=room_id, grace_s=grace.total_seconds())
        return await self.get(room_id)

    async def disable_webhook(self, room_id: str, reason: str) -> None:
        """The room's receiver said it is gone (410): nothing more is sent until its owner sets it again."""
        await repo.update_room(room_id, {"webhook_disabled_at": now(), "webhook_disabled_reason": reason})
        log.warning("room.webhook_disabled", room_id=room_id, reason=reason)

    async def delete(self, room_id: str) -> int:
        """Delete the room, its meetings and calendar; its transcripts stay, each with its owner, detached
        from the room (in no room, found in their owners' lists). How many transcripts were kept."""
        await self.get(room_id)
        kept = await self._transcripts.detach_room(room_id) if self._transcripts else 0
        await repo.delete_room(room_id)
        log.info("room.deleted", room_id=room_id, transcripts_kept=kept)
        return kept

    async def transcripts_count(self, room_id: str) -> int:
        """How many transcripts were made in the room (what its deletion would keep)."""
        return await self._transcripts.count_of_room(room_id) if self._transcripts else 0

    async def with_audio_retention(self) -> list[RoomView]:
        """The rooms that keep their transcripts' audio for a number of days only."""
        return await repo.rooms_with_audio_retention()


class MeetingService:
    def __init__(
        self,
        redis: Redis,
        rooms: RoomService,
        platforms: Mapping[str, VideoPlatform],
        listener: MeetingListener | None = None,
    ) -> None:
        self._redis = redis
        self._rooms = rooms
        self.listener = listener
        # The clients of the platforms this server is configured for, by name (daily, whereby, livekit).
        self.platforms = platforms
        # When a meeting is closed or extended, and when a joiner is sent back into one (lifecycle.py).
        self.lifecycle = MeetingLifecycle(redis, platforms, MeetingPolicy())

    async def meeting_for(self, room: RoomView, *, allow_duplicated: bool = False) -> MeetingView:
        """The room's current meeting, or a new one on its platform when there is none to reuse: a meeting
        just emptied, or past its end with someone still in it, is reused (lifecycle.py, the join grace)."""
        lock = room_lock(self._redis, room.id)
        if not await lock.acquire():
            raise MeetingCreationBusy()
        try:
            at = now()
            if not allow_duplicated:
                reused = await self._reusable(room, at)
                if reused is not None:
                    return reused
            platform = self.platforms.get(room.platform)
            if platform is None:
                raise PlatformNotConfigured(room.platform)
            end = at + MEETING_LENGTH
            meeting = await _open_meeting(room, await platform.create_meeting(room, end), at, end)
            log.info("meeting.created", room_id=room.id, meeting_id=meeting.id, platform=room.platform)
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("meeting.lock_expired", room_id=room.id)
        await self._tell("started", room, meeting)
        return meeting

    async def _tell(self, what: str, room: RoomView, meeting: MeetingView) -> None:
        """The listener hears of it; its failure (Redis away) never fails the meeting itself."""
        if self.listener is None:
            return
        try:
            if what == "started":
                await self.listener.meeting_started(room, meeting)
            else:
                await self.listener.meeting_ended(room, meeting)
        except Exception as exc:
            log.warning("meeting.listener_failed", meeting_id=meeting.id, change=what, error=str(exc))

    async def _reusable(self, room: RoomView, at: datetime) -> MeetingView | None:
        """The room's latest active meeting with its settings, when a joiner goes into it; an empty one's
        grace restarts (the joiner is on their way), and one past its end is extended first."""
        policy = self.lifecycle.policy
        latest = next((m for m in await repo.open_meetings(room.id) if reusable(m, at, policy)), None)
        if latest is None or any(getattr(latest, f) != getattr(room, f) for f in _SNAPSHOT):
            return None
        await repo.someone_joining(latest.id, at)
        if latest.end_date <= at and not await self.lifecycle.extend(latest, at):
            return None  # its platform room is closing and cannot be kept open: a new meeting
        log.info("meeting.reused", room_id=room.id, meeting_id=latest.id, clients=latest.num_clients)
        return await self.get(latest.id)

    async def sweep(self, *, force: bool = False) -> SweepReport:
        """The periodic look at every active meeting: presence asked of the platforms, meetings still in
        use extended, empty or finished ones closed (lifecycle.py); each one closed has ended (its listener
        hears so)."""
        report = await self.lifecycle.sweep(force=force)
        for meeting_id in report.closed_ids:
            closed = await self.get(meeting_id)
            await self._tell("ended", await self._rooms.get(closed.room_id), closed)
        return report

    async def open_for_event(
        self, room: RoomView, event_id: str, metadata: dict[str, Any], end: datetime
    ) -> MeetingView:
        """A meeting on the room's platform for its calendar event about to start (calendar_sync.py), until
        the event's end (extended while in use, lifecycle.py)."""
        lock = room_lock(self._redis, room.id)
        if not await lock.acquire():
            raise MeetingCreationBusy()
        try:
            platform = self.platforms.get(room.platform)
            if platform is None:
                raise PlatformNotConfigured(room.platform)
            at = now()
            end = max(end, at + timedelta(minutes=15))
            opened = await platform.create_meeting(room, end)
            meeting = await _open_meeting(room, opened, at, end, calendar_event_id=event_id, calendar_metadata=metadata)
            log.info("meeting.created", room_id=room.id, meeting_id=meeting.id, calendar_event_id=event_id)
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("meeting.lock_expired", room_id=room.id)
        await self._tell("started", room, meeting)
        return meeting

    async def get(self, meeting_id: str) -> MeetingView:
        meeting = await repo.get_meeting(meeting_id) if looks_like_id(meeting_id) else None
        if meeting is None:
            raise MeetingNotFound()
        return meeting

    async def in_room(self, room: RoomView, meeting_id: str) -> MeetingView:
        meeting = await self.get(meeting_id)
        if meeting.room_id != room.id:
            raise MeetingNotFound()
        return meeting

    async def active(self, room: RoomView) -> list[MeetingView]:
        """The room's active meetings that have not ended, the latest end first."""
        return await repo.active_meetings(room.id, now())

    async def joinable(self, room: RoomView, meeting_id: str) -> MeetingView:
        meeting = await self.in_room(room, meeting_id)
        if not meeting.is_active:
            raise MeetingNotActive()
        if meeting.end_date <= now():
            raise MeetingNotActive("Meeting has ended")
        return meeting

    async def join(self, room: RoomView, meeting_id: str, caller: Caller, display_name: str | None) -> MeetingView:
        """The meeting as this person joins it: with a Daily meeting token of theirs when signed in (owning
        the call in their own room), a LiveKit token under a new identity for anyone, as Reflector."""
        meeting = await self.joinable(room, meeting_id)
        await repo.someone_joining(meeting.id, now())
        platform = self.platforms.get(meeting.platform)
        if not isinstance(platform, JoinsWithTokens) or (meeting.platform == "daily" and caller.user_id is None):
            return meeting
        url = await platform.join_url(
            meeting.room_url,
            meeting.room_name,
            user_id=caller.user_id,
            name=display_name or caller.name,
            owner=owns(caller, room),
        )
        return msgspec.structs.replace(meeting, room_url=url)

    async def room_of(self, meeting_id: str) -> RoomView:
        return await self._rooms.get((await self.get(meeting_id)).room_id)

    async def end(self, meeting_id: str) -> MeetingView:
        """Deactivate the meeting (again, if it already was): no one is sent into it any more."""
        was = await self.get(meeting_id)
        await repo.update_meeting(meeting_id, {"is_active": False})
        log.info("meeting.ended", meeting_id=meeting_id)
        ended = await self.get(meeting_id)
        if was.is_active:
            await self._tell("ended", await self._rooms.get(ended.room_id), ended)
        return ended

    async def receive(self, event: ReceivedEvent) -> Outcome:
        """A video platform's authentic webhook: stored, and acted on once (platform_events.py)."""
        return await platform_events.receive(event, self.platforms)

    async def consent(
        self, meeting_id: str, user_id: str | None, given: bool, anonymous_id: str | None = None
    ) -> ConsentView:
        """A participant's answer to being recorded; their latest answer counts. A signed-in person is known
        by their id, an anonymous one by `anonymous_id` (their browser's); an anonymous answer without one is
        kept on its own, as Reflector keeps every anonymous answer. One declined answer is enough for the
        meeting's audio and video to be deleted once processed (RecordingService.forget_declined)."""
        await self.get(meeting_id)
        participant = _participant(user_id, anonymous_id) or f"anon:{new_id()}"
        consent = await repo.record_consent(meeting_id, participant, user_id, given, now())
        log.info("meeting.consent", meeting_id=meeting_id, given=given, signed_in=user_id is not None)
        return consent

    async def answer_of(self, meeting_id: str, user_id: str | None, anonymous_id: str | None) -> ConsentView | None:
        """This participant's latest answer in the meeting (None: not asked yet, or a browser we cannot
        tell again), so that a person who answered is not asked a second time."""
        participant = _participant(user_id, anonymous_id)
        return await repo.consent_of(meeting_id, participant) if participant else None


def _participant(user_id: str | None, anonymous_id: str | None) -> str | None:
    """Who answers: a signed-in person by their id, an anonymous browser by its own id (its cookie)."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"anon:{anonymous_id}" if anonymous_id and looks_like_id(anonymous_id) else None
