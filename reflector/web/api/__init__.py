"""The `/v1` REST API and WebSockets, wire-compatible with Reflector's (paths, methods, JSON fields).

Each module holds one resource's handlers in a `ROUTES` list; handler function names are Reflector's,
so the OpenAPI operation ids (`v1_<name>`) are too.
"""

from reflector.web.api import (
    audio,
    events,
    health,
    ingest,
    meeting_email,
    meetings,
    platform_webhooks,
    record,
    room_calendar,
    room_webhooks,
    rooms,
    search,
    transcripts,
    trash,
    users,
    zulip,
)
from reflector.web.errors import document_errors

ROUTES = [
    *health.ROUTES,
    *search.ROUTES,
    *trash.ROUTES,
    *transcripts.ROUTES,
    *audio.ROUTES,
    *ingest.ROUTES,
    *record.ROUTES,
    *events.ROUTES,
    *users.ROUTES,
    *rooms.ROUTES,
    *room_calendar.ROUTES,
    *room_webhooks.ROUTES,
    *meetings.ROUTES,
    *meeting_email.ROUTES,
    *platform_webhooks.ROUTES,
    *zulip.ROUTES,
]
document_errors(ROUTES)
