"""An in-memory video platform behind the rooms module's `VideoPlatform` port, for tests of meetings that
are not about a platform's own API (those talk to the local fake servers in tests/platforms)."""

import asyncio
import dataclasses
from datetime import datetime

from reflector.bootstrap import Services
from reflector.domain.rooms.models import PlatformMeeting, RoomView
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


def with_platform(services: Services, platform: RecordingPlatform) -> Services:
    """The services, with `platform` serving rooms on every platform."""
    meetings = MeetingService(services.redis, services.rooms, {"daily": platform, "whereby": platform})
    return dataclasses.replace(services, meetings=meetings)
