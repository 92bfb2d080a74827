"""The video platforms' clients bound to the rooms module's `VideoPlatform` port: one small class per
platform turns a room into that platform's meeting, with the links Reflector hands out (composition, like
bootstrap, which builds them: the adapters know nothing of the domain, the domain nothing of the clients).

- Daily: one Daily room per meeting, expiring at its end (private with knocking when the room is locked);
  `host_room_url` is the room's URL with a meeting token owning the call, for the room's owner (Reflector's
  `?t=` semantics); anyone else joins by the bare URL or a token of their own (`join_url`).
- Whereby: one Whereby meeting per meeting; its host URL is Whereby's, shown to the owner only. A room
  recording to the cloud has Whereby write the MP4 to RECORDING_STORAGE_AWS_BUCKET_NAME (whose S3
  notifications the workers read: reflector.domain.rooms.bucket_recordings).
- LiveKit: one LiveKit room per meeting; a LiveKit client needs the server URL and an access token, so both
  links are the server's URL with `?room=`, the host link also with an owner token; every join gets a new
  identity. With LIVEKIT_STORAGE_AWS_BUCKET_NAME the room records every published track to that bucket
  (auto track egress), the webhooks telling when each started and ended (reflector.domain.rooms.livekit_recordings).
"""

import hashlib
import posixpath
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

import msgspec
import structlog

from reflector.adapters.platforms import ForgedWebhook, UnreadableWebhook, verify_daily, verify_livekit, verify_whereby
from reflector.adapters.platforms.daily import DailyClient, DailyRoom, RecordingAlreadyActive, RoomProperties
from reflector.adapters.platforms.daily_webhooks import (
    DailyParticipant,
    DailyRecordingError,
    DailyRecordingEvent,
    DailyTestPing,
)
from reflector.adapters.platforms.livekit import LiveKitClient, S3Upload, TrackFile
from reflector.adapters.platforms.transport import PlatformError, PlatformHttp
from reflector.adapters.platforms.whereby import CloudRecording, S3Destination, WherebyClient
from reflector.domain.errors import DomainError
from reflector.domain.ids import now
from reflector.domain.rooms.livekit_recordings import RoomFinished, TrackEgress
from reflector.domain.rooms.models import Platform, PlatformMeeting, RoomView, VideoPlatform
from reflector.domain.rooms.platform_events import PresenceChange, ReceivedEvent, RecordingFailed, RecordingReady
from reflector.settings import PlatformSettings

log = structlog.get_logger(__name__)

# Where LiveKit's track egress writes a track: one folder per LiveKit room (one per meeting).
LIVEKIT_TRACK_PATH = "livekit/{room_name}/{publisher_identity}-{track_source}-{track_id}"


class PlatformUnavailable(DomainError):
    """The video platform refused or did not answer: a sentence for the person, the details in the log."""

    status: ClassVar[int] = 502


def _asking(what: str) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """A platform's failure while doing `what` as a PlatformUnavailable, logged with what it answered."""

    def wrap(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @wraps(call)
        async def asked(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except PlatformError as exc:
                log.warning("platform.failed", platform=exc.platform, status=exc.status, error=str(exc))
                raise PlatformUnavailable(f"{exc.platform} could not {what} just now: try again in a minute") from exc

        return asked

    return wrap


def _unix(at: datetime) -> int:
    return int(at.timestamp())


class DailyMeetings:
    def __init__(self, client: DailyClient) -> None:
        self.client = client

    @_asking("open the meeting")
    async def create_meeting(self, room: RoomView, end: datetime) -> PlatformMeeting:
        properties = RoomProperties(
            exp=_unix(end),
            enable_chat=True,
            enable_screenshare=True,
            enable_knocking=room.is_locked or None,
            enable_recording="local" if room.recording_type == "local" else None,
        )
        daily = await self._create_room(room, properties)
        owner = await self.client.meeting_token(daily.name, user_id=room.user_id, is_owner=True, exp=_unix(end))
        return PlatformMeeting(
            room_name=daily.name, room_url=daily.url, host_room_url=f"{daily.url}?t={owner}", platform_id=daily.id
        )

    async def _create_room(self, room: RoomView, properties: RoomProperties) -> DailyRoom:
        """A Daily room named after the room and the second it opens (Reflector's names); a second meeting of
        the same room in the same second (one closed and replaced, a calendar meeting beside a join) takes
        the next second's name instead of failing."""
        opened = now()
        privacy: Literal["public", "private"] = "private" if room.is_locked else "public"
        for attempt in range(5):
            try:
                return await self.client.create_room(
                    room.name, now=opened + timedelta(seconds=attempt), privacy=privacy, properties=properties
                )
            except PlatformError as exc:
                if exc.status != 400 or "already exists" not in exc.body:
                    raise
                log.info("daily.room_name_taken", room=room.name, attempt=attempt)
        raise PlatformError("Daily", f"Daily has a room of every name tried for {room.name!r} this second")

    @_asking("let you join the meeting")
    async def join_url(self, room_url: str, room_name: str, *, user_id: str | None, name: str, owner: bool) -> str:
        """The room's URL with a meeting token of this person's (owner rights for the room's owner)."""
        token = await self.client.meeting_token(room_name, user_id=user_id, user_name=name or None, is_owner=owner)
        return f"{room_url}?t={token}"

    async def present(self, room_name: str) -> int:
        return await _gone_is_empty(self.client.presence(room_name), lambda p: p.total_count)

    async def extend(self, room_name: str, end: datetime) -> None:
        """Keep the Daily room open until `end` (its `exp`), for a meeting still in use (lease extension)."""
        await self.client.update_room(room_name, RoomProperties(exp=_unix(end)))

    @_asking("start recording the meeting")
    async def start_recording(self, room_name: str, instance_id: str) -> str | None:
        """Daily records the room's call as raw tracks; None when a recording of that instance is running."""
        try:
            return await self.client.start_recording(room_name, "raw-tracks", instance_id)
        except RecordingAlreadyActive:
            return None

    async def recording_participants(self, recording_id: str) -> dict[str, str]:
        """Who took part in the meeting session a recording recorded: Daily's participant id (the one in
        its raw tracks' names) -> the name they joined with."""
        recording = await self.client.get_recording(recording_id)
        if not recording.meeting_session_id:
            return {}
        people = await self.client.meeting_participants(recording.meeting_session_id)
        return {p.participant_id: p.user_name or "" for p in people}


class WherebyMeetings:
    def __init__(self, client: WherebyClient, bucket: S3Destination | None = None) -> None:
        self.client = client
        self.bucket = bucket  # where Whereby writes a cloud recording's MP4 (the bucket notifying our queue)

    @_asking("open the meeting")
    async def create_meeting(self, room: RoomView, end: datetime) -> PlatformMeeting:
        recording = None
        if room.recording_type == "cloud" and self.bucket is not None:
            recording = CloudRecording(destination=self.bucket, start_trigger=room.recording_trigger)
        meeting = await self.client.create_meeting(
            end=end,
            room_name_prefix=room.name,
            is_locked=room.is_locked,
            room_mode=room.room_mode,
            recording=recording,
        )
        return PlatformMeeting(
            room_name=meeting.room_name,
            room_url=meeting.room_url,
            host_room_url=meeting.host_room_url or "",
            platform_id=meeting.meeting_id,
        )

    async def join_url(self, room_url: str, room_name: str, *, user_id: str | None, name: str, owner: bool) -> str:
        return room_url  # Whereby's links need no token; the host link is the owner's (create_meeting)

    async def occupied(self, room_name: str) -> bool:
        """Whether a session of the room is open (Whereby's insights API: a session ends with its last
        participant); Whereby says how many only in its webhooks."""
        cursor = None
        for _ in range(20):  # pages of sessions, the newest last; a room has few
            page = await self.client.room_sessions(room_name, cursor=cursor)
            if any(session.ended_at is None for session in page.results):
                return True
            cursor = page.cursor
            if not cursor:
                return False
        return False


class LiveKitMeetings:
    def __init__(self, client: LiveKitClient, server_url: str, egress: S3Upload | None = None) -> None:
        self.client = client
        self.server_url = server_url
        self.egress = egress  # where track egress writes each participant's track; None: not recorded

    @_asking("open the meeting")
    async def create_meeting(self, room: RoomView, end: datetime) -> PlatformMeeting:
        name = f"{room.name}-{now():%Y%m%d%H%M%S}"
        empty = int(max(timedelta(minutes=5), end - now()).total_seconds())
        tracks = None
        if self.egress is not None and room.recording_type != "none":
            # Every track published in the room recorded on its own, named for whose it is and what it
            # carries (reflector.pipelines.tracks.LIVEKIT_TRACK); LiveKit adds the extension.
            tracks = TrackFile(LIVEKIT_TRACK_PATH, self.egress)
        created = await self.client.create_room(name, empty_timeout_s=empty, track_egress=tracks)
        room_url = self._url(created.name)
        owner = self.client.access_token(created.name, room.user_id)
        return PlatformMeeting(
            room_name=created.name,
            room_url=room_url,
            host_room_url=f"{room_url}&token={quote(owner.token)}",
            platform_id=created.sid,
        )

    def _url(self, room_name: str) -> str:
        return f"{self.server_url}?{urlencode({'room': room_name})}"

    async def join_url(self, room_url: str, room_name: str, *, user_id: str | None, name: str, owner: bool) -> str:
        """A token for a new identity each time: two people of one name, or one in two tabs, never collide."""
        token = self.client.access_token(room_name, name or "guest", metadata=user_id or "")
        return f"{room_url}&token={quote(token.token)}"

    async def present(self, room_name: str) -> int:
        return await _gone_is_empty(self.client.list_participants(room_name), len)


async def _gone_is_empty(asking: Awaitable[Any], count: Callable[[Any], int]) -> int:
    """A platform's count of who is in a room; a room it no longer has (404: expired, emptied and removed)
    holds nobody."""
    try:
        return count(await asking)
    except PlatformError as exc:
        if exc.status == 404:
            return 0
        raise


def video_platforms(settings: PlatformSettings) -> dict[str, VideoPlatform]:
    """A bound client for each platform the settings configure, by name."""
    bound: dict[str, VideoPlatform] = {}
    if settings.daily_api_key:
        bound["daily"] = DailyMeetings(DailyClient.from_settings(settings))
    if settings.whereby_api_key:
        bucket = None
        if settings.whereby_storage_bucket:
            bucket = S3Destination(
                bucket=settings.whereby_storage_bucket,
                access_key_id=settings.whereby_storage_access_key_id or "",
                access_key_secret=settings.whereby_storage_access_key_secret or "",
            )
        bound["whereby"] = WherebyMeetings(WherebyClient.from_settings(settings), bucket)
    if "livekit" in settings.available and settings.livekit_url:
        egress = None
        if settings.livekit_storage_bucket:
            egress = S3Upload(
                bucket=settings.livekit_storage_bucket,
                region=settings.livekit_storage_region,
                access_key=settings.livekit_storage_access_key_id or "",
                secret=settings.livekit_storage_secret_access_key or "",
                endpoint=settings.livekit_storage_endpoint_url or "",
                force_path_style=bool(settings.livekit_storage_endpoint_url),
            )
        bound["livekit"] = LiveKitMeetings(LiveKitClient.from_settings(settings), settings.livekit_url, egress)
    return bound


async def close_platforms(platforms: dict[str, VideoPlatform]) -> None:
    for platform in platforms.values():
        client = getattr(platform, "client", None)
        if isinstance(client, PlatformHttp):
            await client.aclose()


# ---- inbound: each platform's verified webhook as the rooms module reads it ----


def _body_id(body: bytes) -> str:
    """The id of an event that carries none: its body's hash, so the same bytes twice are one event."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _unreadable(platform: Platform, body: bytes, problem: UnreadableWebhook) -> ReceivedEvent:
    return ReceivedEvent(platform, _body_id(body), "", body, problem=problem.reason)


def _is_daily_ping(body: bytes) -> bool:
    try:
        return msgspec.json.decode(body) == {"test": "test"}
    except msgspec.DecodeError:
        return False


def daily_event(headers: Mapping[str, str], body: bytes, secret: str | None) -> ReceivedEvent | None:
    """Daily's webhook verified under DAILY_WEBHOOK_SECRET; None for the {"test":"test"} ping (answer 200)."""
    if not secret:  # Daily's ping is answered before a secret is set; nothing else is authentic then
        if _is_daily_ping(body):
            return None
        raise ForgedWebhook("Daily", "DAILY_WEBHOOK_SECRET is not set, so no Daily webhook can be verified")
    try:
        verified = verify_daily(headers, body, secret)
    except UnreadableWebhook as problem:
        return _unreadable("daily", body, problem)
    if isinstance(verified, DailyTestPing):
        return None
    payload = verified.payload
    change: PresenceChange | RecordingReady | RecordingFailed | None = None
    if isinstance(payload, DailyParticipant):
        change = PresenceChange(joined=verified.type == "participant.joined", room_name=payload.room)
    elif isinstance(payload, DailyRecordingError) and payload.instance_id:
        reason = payload.error_msg or ""
        change = RecordingFailed(instance_id=payload.instance_id, room_name=payload.room_name or "", reason=reason)
    elif isinstance(payload, DailyRecordingEvent) and verified.type == "recording.ready-to-download":
        audio = [t.s3_key for t in payload.tracks if t.type == "audio"]
        tracks = audio if payload.type == "raw-tracks" or payload.tracks else None
        folder = posixpath.dirname(audio[0]) if audio else ""
        change = RecordingReady(
            recording_id=payload.recording_id,
            room_name=payload.room_name,
            object_key=payload.s3_key or folder,
            track_keys=tracks,
            started_at=datetime.fromtimestamp(payload.start_ts, UTC) if payload.start_ts else None,
        )
    return ReceivedEvent("daily", verified.id or _body_id(body), verified.type, body, change, verified.problem)


def whereby_event(headers: Mapping[str, str], body: bytes, secret: str | None) -> ReceivedEvent:
    if not secret:
        raise ForgedWebhook("Whereby", "WHEREBY_WEBHOOK_SECRET is not set, so no Whereby webhook can be verified")
    try:
        verified = verify_whereby(headers, body, secret)
    except UnreadableWebhook as problem:
        return _unreadable("whereby", body, problem)
    data = verified.data
    change = None
    if data is not None:
        change = PresenceChange(
            joined=verified.type == "room.client.joined", platform_id=data.meeting_id, num_clients=data.num_clients
        )
    return ReceivedEvent("whereby", verified.id or _body_id(body), verified.type, body, change, verified.problem)


def livekit_event(headers: Mapping[str, str], body: bytes, settings: PlatformSettings) -> ReceivedEvent:
    if not (settings.livekit_api_key and settings.livekit_api_secret):
        raise ForgedWebhook("LiveKit", "LIVEKIT_API_KEY and LIVEKIT_API_SECRET are not set")
    try:
        verified = verify_livekit(headers, body, settings.livekit_api_key, settings.livekit_api_secret)
    except UnreadableWebhook as problem:
        return _unreadable("livekit", body, problem)
    change: PresenceChange | TrackEgress | RoomFinished | None = None
    person = verified.participant
    if verified.event in ("participant_joined", "participant_left") and verified.room is not None:
        change = PresenceChange(
            joined=verified.event == "participant_joined",
            room_name=verified.room.name,
            participant_id=person.identity if person else None,
            participant_name=person.name if person else None,
        )
    egress = verified.egress_info
    if verified.event in ("egress_started", "egress_ended") and egress is not None and egress.egress_id:
        # Track egress writes one file; its key in our bucket is the file's name, and it started (LiveKit:
        # nanoseconds) where the track sits on the meeting's timeline.
        written = egress.file_results[0] if egress.file_results and not egress.error else None
        change = TrackEgress(
            room_name=egress.room_name,
            egress_id=egress.egress_id,
            ended=verified.event == "egress_ended",
            key=(written.filename or _key_of(written.location)) if written else "",
            started_ms=written.started_at // 1_000_000 if written else 0,
        )
    if verified.event == "room_finished" and verified.room is not None:
        change = RoomFinished(room_name=verified.room.name)
    return ReceivedEvent("livekit", verified.id or _body_id(body), verified.event, body, change)


def _key_of(location: str) -> str:
    """An object's key from the URL egress gives as its location (s3://bucket/key or https://host/bucket/key)."""
    path = urlsplit(location).path.lstrip("/")
    return path if location.startswith("s3://") else path.partition("/")[2]
