"""How long a meeting lives: when it is closed, when it is extended, and when a joiner is sent back into it
rather than into a new one.

A meeting is opened for MEETING_LENGTH (service.py). Who is in it comes from the platforms' webhooks
(platform_events.py) and, because a webhook can be lost, from a periodic sweep that asks the platform
(`MeetingLifecycle.sweep`, run by every worker's reaper loop; one sweep at a time across all of them). The
rules, for an active meeting at time `at`:

- Someone in it (the platform just said so) and its end less than `extend_before_s` away: extended to
  `at + extension_s`, on the platform too (Daily's room `exp`), so a meeting still in use is never cut
  off at its 8 hours (Reflector's lease extension, #974).
- Nobody in it for `empty_close_s` (30 min; an unscheduled meeting only: a calendar meeting waits for
  its end), or past its end and empty for longer than `join_grace_s`: closed.
- Past its end by `empty_close_s` while the platform cannot be asked: closed on the webhooks' word alone
  after all, so a platform that went away leaves no meeting open forever.
- Someone in it, its room recording, no recording of it being made: its recording started
  (recording_start.py).

The join grace (Reflector #436, people split between two platform rooms by a quick leave and rejoin):
a meeting whose last person left less than `join_grace_s` ago is still the room's meeting, reused by
the next joiner (and extended if its end has passed) instead of being closed and replaced; every join
through Reflector restarts the grace of an empty meeting, so the sweep cannot close a meeting under
someone on their way into it. Closing and reusing take the same per-room lock.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

import msgspec
import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from reflector.domain.ids import now
from reflector.domain.rooms import recording_start
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.figures import mark_run
from reflector.domain.rooms.models import MeetingView, VideoPlatform
from reflector.domain.rooms.platform_events import CountsPresence

log = structlog.get_logger(__name__)

Verdict = Literal["keep", "extend", "close"]
SWEEP_KEY = "rooms:meetings_swept"


class MeetingPolicy(msgspec.Struct, frozen=True):
    """The meeting lifecycle's durations, in seconds (settings: MEETING_EMPTY_CLOSE_S, MEETING_JOIN_GRACE_S)."""

    empty_close_s: float = 30 * 60
    join_grace_s: float = 120
    extend_before_s: float = 30 * 60
    extension_s: float = 60 * 60
    # How often the sweep asks the platforms, at most, whichever worker runs it.
    sweep_every_s: float = 30


@runtime_checkable
class KnowsOccupied(Protocol):
    """A platform that says whether anyone is in a room, not how many (Whereby's room sessions)."""

    async def occupied(self, room_name: str) -> bool: ...


@runtime_checkable
class ExtendsMeetings(Protocol):
    """A platform whose room closes at the meeting's end unless pushed back (Daily's `exp`)."""

    async def extend(self, room_name: str, end: datetime) -> None: ...


def room_lock(redis: Redis, room_id: str) -> Lock:
    """The lock under which a room's meeting is chosen, created, reused or closed."""
    return redis.lock(f"create_meeting:{room_id}", timeout=30, blocking_timeout=5)


def empty_for(meeting: MeetingView, at: datetime) -> timedelta:
    return at - (meeting.empty_since or meeting.start_date) if meeting.num_clients == 0 else timedelta(0)


def verdict(meeting: MeetingView, at: datetime, policy: MeetingPolicy, *, confirmed: bool) -> Verdict:
    """What to do with an active meeting; `confirmed`: its count was just asked of the platform."""
    if meeting.num_clients > 0:
        if confirmed:
            soon = meeting.end_date - at <= timedelta(seconds=policy.extend_before_s)
            return "extend" if soon else "keep"
        # Only the webhooks' word that someone is there, long past the end: not believed for ever.
        return "close" if at - meeting.end_date >= timedelta(seconds=policy.empty_close_s) else "keep"
    empty = empty_for(meeting, at)
    if meeting.end_date <= at:
        return "close" if empty >= timedelta(seconds=policy.join_grace_s) else "keep"
    if meeting.calendar_event_id is None and empty >= timedelta(seconds=policy.empty_close_s):
        return "close"
    return "keep"


def reusable(meeting: MeetingView, at: datetime, policy: MeetingPolicy) -> bool:
    """Whether a joiner is sent into this active meeting: before its end, or after it while someone is in
    it or the last person left within the join grace."""
    if meeting.end_date > at or meeting.num_clients > 0:
        return True
    return empty_for(meeting, at) < timedelta(seconds=policy.join_grace_s)


class SweepReport(msgspec.Struct):
    meetings: int = 0
    polled: int = 0
    extended: int = 0
    closed: int = 0
    skipped: bool = False  # another worker swept a moment ago
    closed_ids: list[str] = msgspec.field(default_factory=list)  # the meetings it closed (they have ended)


class MeetingLifecycle:
    def __init__(self, redis: Redis, platforms: Mapping[str, VideoPlatform], policy: MeetingPolicy) -> None:
        self._redis = redis
        self._platforms = platforms
        self.policy = policy

    async def sweep(self, *, force: bool = False) -> SweepReport:
        """Ask the platforms who is in each active meeting, then extend or close it by the rules above; at
        most once per `sweep_every_s` across every worker (`force`: now, whoever swept last)."""
        every = max(1, round(self.policy.sweep_every_s))
        if not await self._redis.set(SWEEP_KEY, "1", nx=not force, ex=every):
            return SweepReport(skipped=True)
        report = SweepReport()
        for meeting in await repo.every_active_meeting():
            report.meetings += 1
            confirmed = await self._poll(meeting)
            report.polled += confirmed
            if confirmed:  # someone in its call, as the platform says: its recording started if due
                await self._start_recording(meeting.id)
            done = await self._decide(meeting.id, confirmed)
            report.extended += done == "extend"
            report.closed += done == "close"
            if done == "close":
                report.closed_ids.append(meeting.id)
        if report.closed or report.extended:
            log.info("meetings.swept", **msgspec.structs.asdict(report))
        await mark_run(self._redis, "meetings")
        return report

    async def _poll(self, meeting: MeetingView) -> bool:
        """The meeting's count as the platform says it now; False when it cannot say."""
        platform = self._platforms.get(meeting.platform)
        try:
            if isinstance(platform, CountsPresence):
                count = await platform.present(meeting.room_name)
            elif isinstance(platform, KnowsOccupied):
                # Whereby says whether a session is open, its webhooks say how many: keep their count.
                count = max(meeting.num_clients, 1) if await platform.occupied(meeting.room_name) else 0
            else:
                return False
        except Exception as exc:  # the platform away: the webhooks' count stands for now
            log.warning("meeting.presence_unknown", meeting_id=meeting.id, platform=meeting.platform, error=str(exc))
            return False
        if count != meeting.num_clients:
            log.info("meeting.presence_reconciled", meeting_id=meeting.id, was=meeting.num_clients, now=count)
        await repo.set_clients(meeting.id, count=count, delta=0)
        return True

    async def _start_recording(self, meeting_id: str) -> None:
        meeting = await repo.get_meeting(meeting_id)
        if meeting is None:
            return
        try:
            await recording_start.start_if_due(meeting, self._platforms.get(meeting.platform))
        except Exception as exc:  # the platform away or refusing: tried again by the next sweep
            log.warning("recording.start_failed", meeting_id=meeting.id, error=str(exc))

    async def _decide(self, meeting_id: str, confirmed: bool) -> Verdict:
        meeting = await repo.get_meeting(meeting_id)
        if meeting is None or not meeting.is_active:
            return "keep"
        if verdict(meeting, now(), self.policy, confirmed=confirmed) == "keep":
            return "keep"
        lock = room_lock(self._redis, meeting.room_id)
        if not await lock.acquire():
            return "keep"  # someone is joining the room: looked at again next sweep
        try:
            # Again under the lock: a join may have just restarted its grace.
            meeting = await repo.get_meeting(meeting_id)
            if meeting is None or not meeting.is_active:
                return "keep"
            at = now()
            decided = verdict(meeting, at, self.policy, confirmed=confirmed)
            if decided == "close":
                await repo.update_meeting(meeting.id, {"is_active": False})
                log.info("meeting.closed", meeting_id=meeting.id, empty_s=empty_for(meeting, at).total_seconds())
            elif decided == "extend" and not await self.extend(meeting, at):
                return "keep"
            return decided
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("meeting.lock_expired", room_id=meeting.room_id if meeting else None)

    async def extend(self, meeting: MeetingView, at: datetime) -> bool:
        """Push the meeting's end to `at + extension_s`, on its platform first; False when the platform
        refused (tried again by the next sweep, well before the end). Call it under the room's lock."""
        end = max(meeting.end_date, at + timedelta(seconds=self.policy.extension_s))
        platform = self._platforms.get(meeting.platform)
        if isinstance(platform, ExtendsMeetings):
            try:
                await platform.extend(meeting.room_name, end)
            except Exception as exc:
                log.warning("meeting.extend_failed", meeting_id=meeting.id, error=str(exc))
                return False
        await repo.update_meeting(meeting.id, {"end_date": end})
        log.info("meeting.extended", meeting_id=meeting.id, end=end.isoformat())
        return True
