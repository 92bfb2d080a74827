"""An in-memory video platform behind the rooms module's `VideoPlatform` port, for tests of meetings that
are not about a platform's own API (those talk to the local fake servers in tests/platforms)."""

import asyncio
import dataclasses
from datetime import datetime, timedelta

from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, PlatformMeeting, RoomSettings, RoomView
from reflector.domain.rooms.service import MeetingService


class RecordingPlatform:
    """Opens a numbered meeting for each call and remembers the calls; slow enough that requests overlap."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, datetime]] = []

    async def create_meeting(self, room: RoomView, end: datetime) -> PlatformMeeting:
        await asyncio.sleep(0.05)
        self.opened.append((room.name, end))
        name = f"{room.name}-{len(self.opened)}"
        return PlatformMeeting(
            room_name=name,
            room_url=f"https://video.example/{name}",
            host_room_url=f"https://video.example/{name}?host=1",
            platform_id=f"platform-{name}",
        )


def with_platform(
    services: Services, platform: RecordingPlatform, names: tuple[str, ...] = ("daily", "whereby")
) -> Services:
    """The services, with `platform` serving rooms on the platforms named (LiveKit left unconfigured, for the
    tests of a room on a platform the server does not offer)."""
    meetings = MeetingService(
        services.redis, services.rooms, dict.fromkeys(names, platform), listener=services.webhooks
    )
    return dataclasses.replace(services, meetings=meetings)


async def room_with_meeting(
    services: Services, owner_id: str, name: str, *, shared: bool = False, webhook_secret: str | None = None
) -> tuple[RoomView, MeetingView]:
    """A room of the owner's with an active meeting in it, written without any platform."""
    settings = RoomSettings(
        name=name,
        platform="daily",
        is_shared=shared,
        webhook_url="https://hooks.example/in" if webhook_secret else None,
        webhook_secret=webhook_secret,
    )
    room = await services.rooms.create(owner_id, settings)
    meeting = await rooms_table.insert_meeting(
        {
            "room_id": room.id,
            "platform": "daily",
            "room_name": f"{room.name}-seeded",
            "room_url": f"https://video.example/{room.name}-seeded",
            "host_room_url": f"https://video.example/{room.name}-seeded?host=1",
            "end_date": now() + timedelta(hours=1),
        }
    )
    return room, meeting
