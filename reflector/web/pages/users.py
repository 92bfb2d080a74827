"""Settings / Users, for admins: everyone who has signed in, and who is an admin.

An admin may make others admins or take it back, but not from themselves, and the last admin stays one
(both rules are the auth service's, so the CLI keeps them too): an install must never be left without one
by a slip of the mouse (`reflector user promote EMAIL` is the way back in any case).
"""

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller, RoleChangeRefused
from reflector.web.htmx import is_htmx, render

PAGE = "/settings/users"
TEMPLATE = "pages/settings_users.html"


class RoleForm(msgspec.Struct, frozen=True):
    role: Literal["user", "admin"]


class UsersController(Controller):
    path = PAGE
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "admin"}

    @get("/")
    async def users(self, request: Request, services: Services, caller: Caller) -> Response[Any]:
        return render(request, TEMPLATE, await _context(services, caller))

    @post("/{account_id:str}/role", status_code=200)
    async def change_role(
        self,
        request: Request,
        services: Services,
        caller: Caller,
        account_id: str,
        data: Annotated[RoleForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        try:
            user = await services.auth.set_role(account_id, data.role, by=caller.user_id or "")
        except RoleChangeRefused as refused:
            notice = str(refused)  # said on the page, htmx or not: a redirect would lose the reason
        else:
            if not is_htmx(request):
                return Redirect(PAGE, status_code=303)
            notice = f"{user.name or user.email} is now {'an admin' if data.role == 'admin' else 'a user'}."
        return render(request, TEMPLATE, await _context(services, caller, notice=notice), block="users")


async def _context(services: Services, caller: Caller, **extra: Any) -> dict[str, Any]:
    return {"nav": "settings", "users": await services.auth.users(), "me": caller.user_id, **extra}
