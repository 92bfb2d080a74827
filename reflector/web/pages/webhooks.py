"""A room's Webhooks page, /rooms/{room_id}/webhooks, for its owner: where events go, every delivery with
its attempts (filtered by event and status), "Send test" and "Redeliver" (the same event id again).

One handler serves the page and its `deliveries` fragment, which htmx swaps after a filter change, a test
or a redelivery; without JavaScript the filters are a GET form and the buttons plain POSTs answered with a
redirect back to the page (303) carrying what happened.
"""

from typing import Annotated, Any, ClassVar
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.webhooks.models import EVENT_TYPES
from reflector.web.htmx import is_htmx, render

TEMPLATE = "pages/room_webhooks.html"
STATUSES = ("pending", "succeeded", "failed")
PAGE_SIZE = 50


def page_of(room_id: str) -> str:
    return f"/rooms/{room_id}/webhooks"


async def _context(
    services: Services, room_id: str, event: str | None, status: str | None, **extra: Any
) -> dict[str, Any]:
    room = await services.rooms.get(room_id)
    event = event if event in EVENT_TYPES else None
    status = status if status in STATUSES else None
    deliveries, total = await services.webhooks.deliveries(room_id, event_type=event, status=status, limit=PAGE_SIZE)
    return {
        "nav": "rooms",
        "room": room,
        "deliveries": deliveries,
        "total": total,
        "event": event,
        "status": status,
        "events": EVENT_TYPES,
        "statuses": STATUSES,
        "page": page_of(room_id),
        **extra,
    }


class RoomWebhooksPage(Controller):
    path = "/rooms/{room_id:str}/webhooks"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "room_owner"}

    @get("/")
    async def webhooks(
        self,
        request: Request,
        services: Services,
        room_id: str,
        event: Annotated[str | None, QueryParameter(max_length=32)] = None,
        status: Annotated[str | None, QueryParameter(max_length=16)] = None,
        notice: Annotated[str | None, QueryParameter(max_length=300)] = None,
    ) -> Response[Any]:
        context = await _context(services, room_id, event, status, notice=notice)
        return render(request, TEMPLATE, context, block="deliveries")

    @post("/test")
    async def send_test(self, request: Request, services: Services, room_id: str) -> Response[Any]:
        result = await services.webhooks.send_test(await services.rooms.get(room_id))
        notice = (
            f"Test sent: the endpoint answered {result.status_code}."
            if result.success
            else f"The test was not delivered: {result.error}"
        )
        return await self._after(request, services, room_id, notice)

    @post("/{delivery_id:str}/redeliver")
    async def redeliver(self, request: Request, services: Services, room_id: str, delivery_id: str) -> Response[Any]:
        await services.webhooks.redeliver(room_id, delivery_id)
        notice = f"Event {delivery_id} queued again, under the same webhook-id."
        return await self._after(request, services, room_id, notice)

    async def _after(self, request: Request, services: Services, room_id: str, notice: str) -> Response[Any]:
        if not is_htmx(request):
            return Redirect(f"{page_of(room_id)}?{urlencode({'notice': notice})}", status_code=303)
        context = await _context(services, room_id, None, None, notice=notice)
        return render(request, TEMPLATE, context, block="deliveries")
