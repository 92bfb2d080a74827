"""Rooms: the signed-in person's rooms and the shared ones, each with its platform and whether a meeting is
on now; "New room" and "Edit" through one form, over the same RoomService as POST/PATCH /v1/rooms.

The form is a page of its own (/rooms/new, /rooms/{room_id}/edit) posted as a plain form, so it works
without JavaScript; with htmx the list page loads the form's block into a dialog, and a refused form (a
duplicate name: the API's 409 sentence; a bad setting) comes back into it with its sentence and the values
typed, while a saved one sends the page back to the list.
"""

import asyncio
from datetime import timedelta
from typing import Any, ClassVar, get_args

import msgspec
import structlog
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.errors import DomainError
from reflector.domain.ids import now
from reflector.domain.rooms.access import owns
from reflector.domain.rooms.models import (
    Platform,
    RecordingTrigger,
    RecordingType,
    RoomChanges,
    RoomMode,
    RoomSettings,
    RoomView,
)
from reflector.web.htmx import is_htmx, render

log = structlog.get_logger(__name__)

LIST_TEMPLATE = "pages/rooms.html"
FORM_TEMPLATE = "pages/room_form.html"
DELETE_TEMPLATE = "pages/room_delete.html"
PLATFORMS: dict[str, str] = {"daily": "Daily", "whereby": "Whereby", "livekit": "LiveKit"}
ROOM_MODES: dict[str, str] = {"normal": "Normal (2–4 people)", "group": "Group (up to 200)"}
RECORDING_TYPES: dict[str, str] = {"none": "None", "local": "Local", "cloud": "Cloud"}
RECORDING_TRIGGERS: dict[str, str] = {
    "none": "None",
    "prompt": "Prompt",
    "automatic": "Automatic",
    "automatic-2nd-participant": "When a second person joins",
}
assert set(PLATFORMS) == set(get_args(Platform)) and set(ROOM_MODES) == set(get_args(RoomMode))
assert set(RECORDING_TYPES) == set(get_args(RecordingType))
assert set(RECORDING_TRIGGERS) == set(get_args(RecordingTrigger))
NEXT_EVENT_WITHIN = timedelta(days=1)
CHECKBOXES = ("is_locked", "is_shared", "skip_consent", "zulip_auto_post")
TEXTS = ("name", "platform", "room_mode", "recording_type", "recording_trigger", "zulip_stream", "zulip_topic")
OPTIONAL_TEXTS = ("webhook_url", "ics_url")  # empty: none
OPTIONAL_NUMBERS = ("audio_retention_days",)  # empty: none
# The form's fields in a sentence about one of them (msgspec names the field as `$.name`).
LABELS: dict[str, str] = {
    "name": "Name",
    "platform": "Platform",
    "room_mode": "Room size",
    "recording_type": "Recording",
    "recording_trigger": "Recording starts",
    "zulip_stream": "Zulip stream",
    "zulip_topic": "Zulip topic",
    "webhook_url": "Webhook URL",
    "ics_url": "Calendar (ICS) URL",
    "audio_retention_days": "Keep audio for (days)",
}


def form_values(form: dict[str, str]) -> dict[str, Any]:
    """A room's settings as the form sends them: an unticked box is not sent at all (False), an empty URL
    is no URL, and a calendar is synced when it has a URL; a field not sent keeps its default (or, when
    editing, the room's value)."""
    values: dict[str, Any] = {name: form[name].strip() for name in TEXTS if name in form}
    values |= {name: form.get(name) == "on" for name in CHECKBOXES}
    values |= {name: form[name].strip() or None for name in OPTIONAL_TEXTS if name in form}
    # A number as a number; anything else as typed, which the settings refuse with a sentence.
    values |= {name: _number(form[name]) for name in OPTIONAL_NUMBERS if name in form}
    if "ics_url" in values:
        values["ics_enabled"] = values["ics_url"] is not None
    return values


def _number(text: str) -> int | str | None:
    text = text.strip()
    return int(text) if text.isdigit() else (text or None)


def _sentence(error: msgspec.ValidationError) -> str:
    """msgspec's `Expected `str` of length <= 255 - at `$.name`` as a sentence about the form's field."""
    text = str(error)
    message, _, where = text.partition(" - at `$.")
    field = where.rstrip("`").split(".")[0].split("[")[0]
    return f"{LABELS.get(field, field)}: {message[:1].lower()}{message[1:]}." if field else f"{text}."


async def _rows(services: Services, caller: Caller) -> list[dict[str, Any]]:
    """Each room with its meeting on now, or else the next event its calendar has within a day."""
    rooms, _ = await services.rooms.page(caller, 1, 100)
    at = now()
    active = await asyncio.gather(*(services.meetings.active(room) for room in rooms))
    coming = await asyncio.gather(
        *(services.calendars.events(room, False, start=at, end=at + NEXT_EVENT_WITHIN) for room in rooms)
    )
    return [
        {
            "room": room,
            "meeting": meetings[0] if meetings else None,
            "next_event": next((e for e in events if e.start_time > at), None),
            "owned": owns(caller, room),
        }
        for room, meetings, events in zip(rooms, active, coming, strict=True)
    ]


def _form_context(room: RoomView | None, values: dict[str, Any], problem: str = "") -> dict[str, Any]:
    return {
        "nav": "rooms",
        "room": room,
        "values": values,
        "problem": problem,
        "action": f"/rooms/{room.id}" if room else "/rooms",
        "platforms": PLATFORMS,
        "room_modes": ROOM_MODES,
        "recording_types": RECORDING_TYPES,
        "recording_triggers": RECORDING_TRIGGERS,
    }


def _values_of(room: RoomView) -> dict[str, Any]:
    return {name: getattr(room, name) for name in (*TEXTS, *CHECKBOXES, *OPTIONAL_TEXTS, *OPTIONAL_NUMBERS)}


def _defaults() -> dict[str, Any]:
    settings = RoomSettings(name="", platform="daily")
    return {name: getattr(settings, name) for name in (*TEXTS, *CHECKBOXES, *OPTIONAL_TEXTS, *OPTIONAL_NUMBERS)}


class RoomsController(Controller):
    path = "/rooms"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "member"}

    @get("/", opt={"access": "listing"})
    async def rooms(self, request: Request, services: Services, caller: Caller) -> Response[Any]:
        context = {"nav": "rooms", "rows": await _rows(services, caller), "platforms": PLATFORMS}
        return render(request, LIST_TEMPLATE, context)

    @get("/new")
    async def new_room(self, request: Request) -> Response[Any]:
        return render(request, FORM_TEMPLATE, _form_context(None, _defaults()), block="form")

    @get("/{room_id:str}/edit", opt={"access": "room_owner"})
    async def edit_room(self, request: Request, services: Services, room_id: str) -> Response[Any]:
        room = await services.rooms.get(room_id)
        return render(request, FORM_TEMPLATE, _form_context(room, _values_of(room)), block="form")

    @post("/")
    async def create_room(self, request: Request, services: Services, caller: Caller) -> Response[Any]:
        assert caller.user_id is not None  # the rule: signed in
        values = form_values(dict(await request.form()))
        try:
            room = await services.rooms.create(caller.user_id, msgspec.convert(values, RoomSettings))
        except msgspec.ValidationError as invalid:
            return self._refused(request, None, values, _sentence(invalid), 422)
        except DomainError as refused:
            return self._refused(request, None, values, str(refused), refused.status)
        log.info("rooms_page.created", room_id=room.id)
        return _to_list(request)

    @post("/{room_id:str}", opt={"access": "room_owner"})
    async def update_room(self, request: Request, services: Services, room_id: str) -> Response[Any]:
        room = await services.rooms.get(room_id)
        values = form_values(dict(await request.form()))
        # Only what the form changed: saving the form as it was must not, say, re-enable a webhook its
        # receiver turned off (setting the URL again does).
        changed = {k: v for k, v in values.items() if getattr(room, k) != v}
        try:
            await services.rooms.update(room_id, msgspec.convert(changed, RoomChanges))
        except msgspec.ValidationError as invalid:
            return self._refused(request, room, values, _sentence(invalid), 422)
        except DomainError as refused:
            return self._refused(request, room, values, str(refused), refused.status)
        log.info("rooms_page.updated", room_id=room_id, fields=sorted(changed))
        return _to_list(request)

    @get("/{room_id:str}/delete", opt={"access": "room_owner"})
    async def delete_room_page(self, request: Request, services: Services, room_id: str) -> Response[Any]:
        """Asks first, saying what becomes of the room's transcripts."""
        room = await services.rooms.get(room_id)
        kept = await services.rooms.transcripts_count(room_id)
        return render(request, DELETE_TEMPLATE, {"nav": "rooms", "room": room, "transcripts": kept})

    @post("/{room_id:str}/delete", opt={"access": "room_owner"})
    async def delete_room(self, services: Services, room_id: str) -> Redirect:
        kept = await services.rooms.delete(room_id)
        log.info("rooms_page.deleted", room_id=room_id, transcripts_kept=kept)
        return Redirect("/rooms", status_code=303)

    def _refused(
        self, request: Request, room: RoomView | None, values: dict[str, Any], problem: str, status: int
    ) -> Response[Any]:
        shown = (_values_of(room) if room else _defaults()) | values  # what was typed, over what was there
        context = _form_context(room, shown, problem)
        return render(request, FORM_TEMPLATE, context, block="form", status_code=status)


def _to_list(request: Request) -> Response[Any]:
    if is_htmx(request):
        return Response("", headers={"HX-Redirect": "/rooms"})
    return Redirect("/rooms", status_code=303)
