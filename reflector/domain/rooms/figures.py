"""Figures about rooms for monitoring: active meetings (occupied or empty), room recordings by status, and
when each of the workers' periodic jobs over rooms last ran (a job that stopped running shows as a
timestamp that no longer moves). Read at scrape time from PostgreSQL and Redis, as processing's figures."""

import time

import msgspec
from redis.asyncio import Redis

from reflector.domain.rooms.tables import Meeting, Recording

PERIODIC_JOBS = ("meetings", "calendars", "recordings", "retention", "recording_queue")


def _key(job: str) -> str:
    return f"rooms:periodic:{job}"


async def mark_run(redis: Redis, job: str) -> None:
    """The periodic `job` just ran to its end."""
    await redis.set(_key(job), repr(time.time()))


class RoomFigures(msgspec.Struct, frozen=True):
    active_meetings: dict[str, int]  # "occupied" | "empty" -> count
    recordings: dict[str, int]  # status -> count
    last_runs: dict[str, float]  # job -> unix time of its last run (jobs that never ran are left out)


async def room_figures(redis: Redis) -> RoomFigures:
    occupied = await Meeting.count().where(Meeting.is_active.eq(True) & (Meeting.num_clients > 0))
    empty = await Meeting.count().where(Meeting.is_active.eq(True) & (Meeting.num_clients <= 0))
    rows = await Recording.raw("SELECT status, count(*) AS n FROM recording GROUP BY status")
    stamps = await redis.mget([_key(job) for job in PERIODIC_JOBS])
    return RoomFigures(
        active_meetings={"occupied": occupied, "empty": empty},
        recordings={row["status"]: row["n"] for row in rows},
        last_runs={job: float(stamp) for job, stamp in zip(PERIODIC_JOBS, stamps, strict=True) if stamp is not None},
    )
