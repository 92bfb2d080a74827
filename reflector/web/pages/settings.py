"""Settings: the API keys a person makes for their scripts: create (shown once), list, revoke.

One handler serves the page and its `keys` fragment, which htmx swaps after a create or a revoke. The
forms are plain POSTs that work without JavaScript: a revoke without it is confirmed on a page of
its own, and a created key is shown in the answer to the POST that made it, never again.
"""

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.limits import RateLimited, count_key_creation
from reflector.domain.auth.models import ApiKeyNotFound, ApiKeyView, CreatedApiKey
from reflector.web.htmx import is_htmx, render

PAGE = "/settings/api-keys"
NAME_MAX = 255


class CreateKeyForm(msgspec.Struct, frozen=True):
    name: str = ""


class RevokeForm(msgspec.Struct, frozen=True):
    confirmed: str = ""


def _label(key: ApiKeyView) -> str:
    return key.name or "Unnamed key"


async def _context(services: Services, user_id: str, **extra: Any) -> dict[str, Any]:
    keys = await services.auth.keys(user_id)
    return {"nav": "settings", "keys": keys, "label": _label, "name_max": NAME_MAX, **extra}


def _caller(user_id: str | None) -> str:
    assert user_id is not None  # AUTH_BACKEND=none always names the local user
    return user_id


class SettingsController(Controller):
    path = PAGE
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "member"}

    @get("/")
    async def api_keys(self, request: Request, services: Services, user_id: str | None) -> Response[Any]:
        return render(request, "pages/settings_api_keys.html", await _context(services, _caller(user_id)))

    @post("/")
    async def create_key(
        self,
        request: Request,
        services: Services,
        user_id: str | None,
        data: Annotated[CreateKeyForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        owner = _caller(user_id)
        name = data.name.strip()
        if len(name) > NAME_MAX:
            problem = f"A key's name can be at most {NAME_MAX} characters; this one has {len(name)}."
            context = await _context(services, owner, problem=problem, typed_name=name)
            return render(request, "pages/settings_api_keys.html", context, block="keys", status_code=400)
        try:
            await count_key_creation(services.redis, owner)
        except RateLimited as limited:
            context = await _context(services, owner, limited=str(limited), typed_name=name)
            response = render(request, "pages/settings_api_keys.html", context, block="keys", status_code=429)
            response.headers["Retry-After"] = str(limited.retry_after_seconds)
            return response
        created: CreatedApiKey = await services.auth.create_key(owner, name or None)
        context = await _context(services, owner, created=created, created_label=_label(created.view))
        return render(request, "pages/settings_api_keys.html", context, block="keys")

    @post("/{key_id:str}/revoke")
    async def revoke_key(
        self,
        request: Request,
        services: Services,
        user_id: str | None,
        key_id: str,
        data: Annotated[RevokeForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        owner = _caller(user_id)
        if data.confirmed != "yes":
            # Without JavaScript the row's form lands here: ask on the page before revoking.
            pending = next((key for key in await services.auth.keys(owner) if key.id == key_id), None)
            context = await _context(services, owner, confirm=pending)
            if pending is None:
                context["notice"] = "That key no longer exists; it may have been revoked already."
            return render(request, "pages/settings_api_keys.html", context)
        try:
            await services.auth.delete_key(owner, key_id)
            notice = "The key was revoked: programs using it can no longer sign in with it."
        except ApiKeyNotFound:
            notice = "That key no longer exists; it may have been revoked already."
        if not is_htmx(request):
            return Redirect(PAGE, status_code=303)
        context = await _context(services, owner, notice=notice)
        return render(request, "pages/settings_api_keys.html", context, block="keys")
