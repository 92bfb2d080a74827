"""Signing in through the OpenID Connect provider, and out again.

`/login` sends the browser to the provider with a fresh state, nonce and PKCE challenge; the provider
sends it back to `/auth/callback`, where the code is traded for tokens, the ID token verified, the user
created on first sign-in and a new session started. With AUTH_BACKEND=none there is nothing to sign in
to, and both pages lead straight back.
"""

from typing import Annotated, Any, ClassVar

import structlog
from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Response

from reflector.bootstrap import Services
from reflector.domain.auth.limits import SIGN_IN, spend
from reflector.domain.auth.models import Caller, SignInFailed
from reflector.domain.auth.sessions import LOGIN_COOKIE, LOGIN_LIFETIME, SESSION_COOKIE
from reflector.web.errors import error_page

log = structlog.get_logger(__name__)

CALLBACK = "/auth/callback"


def safe_next(path: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or a full URL (an open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _secure(services: Services) -> bool:
    return services.settings.server.base_url.startswith("https://")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class SignInController(Controller):
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "open"}

    @get("/login")
    async def login(self, request: Request, services: Services, caller: Caller, next: str = "/") -> Response[Any]:
        target = safe_next(next)
        if services.oidc is None or services.sessions is None or caller.signed_in:
            return Redirect(target, status_code=303)
        await spend(services.redis, SIGN_IN, _client(request))
        redirect_uri = services.settings.server.base_url.rstrip("/") + CALLBACK
        url, attempt = await services.oidc.begin_sign_in(redirect_uri, target)
        binding = await services.sessions.remember_login(attempt)
        response = Redirect(url, status_code=303)
        response.set_cookie(
            LOGIN_COOKIE,
            binding,
            max_age=int(LOGIN_LIFETIME.total_seconds()),
            path=CALLBACK,
            httponly=True,
            secure=_secure(services),
            samesite="lax",  # the provider's redirect back is a top-level GET from its site
        )
        return response

    @get(CALLBACK)
    async def callback(
        self,
        request: Request,
        services: Services,
        code: str | None = None,
        # `state` is Litestar's own name for the app state, so the query parameter is read under another.
        login_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> Response[Any]:
        if services.oidc is None or services.sessions is None:
            return Redirect("/", status_code=303)
        await spend(services.redis, SIGN_IN, _client(request))
        if error:
            log.warning("audit.sign_in_failed", reason="provider_error", error=error, client=_client(request))
            raise SignInFailed(f"The identity provider did not sign you in: {error_description or error}.")
        attempt = await services.sessions.take_login(login_state or "", request.cookies.get(LOGIN_COOKIE))
        if attempt is None or not code:
            log.warning("audit.sign_in_failed", reason="unknown_state", client=_client(request))
            return error_page(
                400,
                subject="page",
                detail="This sign-in has expired, was already used, or was started in another browser. "
                "Sign in again from Reflector.",
            )
        try:
            identity = await services.oidc.finish_sign_in(code, attempt)
        except SignInFailed:
            log.warning("audit.sign_in_failed", reason="token", client=_client(request))
            raise
        user = await services.auth.user_for_identity(identity)
        # A new session id at every sign-in: one planted in this browser beforehand is worth nothing now.
        if old := request.cookies.get(SESSION_COOKIE):
            await services.sessions.end(old)
        cookie = await services.sessions.start(user.id)
        log.info("audit.sign_in", user_id=user.id, sub=identity.sub, client=_client(request))
        response = Redirect(attempt.next_path, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(services.sessions.lifetime.total_seconds()),
            path="/",
            httponly=True,
            secure=_secure(services),
            samesite="lax",
        )
        response.delete_cookie(LOGIN_COOKIE, path=CALLBACK)
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request, services: Services, caller: Caller) -> Response[Any]:
        if services.oidc is None or services.sessions is None:
            return Redirect("/", status_code=303)
        if cookie := request.cookies.get(SESSION_COOKIE):
            await services.sessions.end(cookie)
        if caller.signed_in:
            log.info("audit.sign_out", user_id=caller.user_id, client=_client(request))
        home = services.settings.server.base_url.rstrip("/") + "/"
        response = Redirect(await services.oidc.sign_out_url(home) or "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
