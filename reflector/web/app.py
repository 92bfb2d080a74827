"""The Litestar application, built by a factory so tests and processes each get their own."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from reflector.adapters.logging import configure_logging
from reflector.bootstrap import Services, start_services, stop_services
from reflector.domain.auth.models import Caller
from reflector.settings import Settings, load_settings
from reflector.web.access import check_rules, provide_transcript
from reflector.web.api import ROUTES
from reflector.web.deps import authenticate, provide_caller, provide_services, provide_user_id
from reflector.web.errors import EXCEPTION_HANDLERS
from reflector.web.hosts import AllowedHosts
from reflector.web.observability import Observability, init_web_error_tracking
from reflector.web.pages import PAGES
from reflector.web.paths import STATIC_DIR, TEMPLATES_DIR
from reflector.web.recording import provide_recordings, recordings_lifespan
from reflector.web.security import security_headers
from reflector.web.ws import fanout_lifespan


@get("/", include_in_schema=False, opt={"access": "open"})
async def index(caller: Caller, settings: Settings) -> Redirect | Template:
    # A visitor who may not browse (signed out, no PUBLIC_MODE) gets a door, not a bounce to the provider.
    if caller.signed_in or settings.auth.public_mode:
        return Redirect("/browse")
    return Template(template_name="pages/welcome.html")


def _operation_id(route_handler, http_method, path_components) -> str:
    # Reflector's clients are generated from ids of the form v1_<function name>.
    name = route_handler.handler_name
    return f"v1_{name}" if http_method != "HEAD" else f"v1_{name}_head"


def _template_globals(engine: JinjaTemplateEngine) -> None:
    # Every page's header shows who is signed in (and the sign-in or sign-out control).
    engine.engine.globals["caller_of"] = lambda request: provide_caller(request.scope)


def _freeze_startup_objects() -> None:
    """Leave what start-up built (modules, routes, schemas, pools) out of every later garbage collection.

    A full collection walks every tracked object: over the app's ~160,000 start-up objects it took about
    50 ms, added to whichever request it landed on (the p99 of a list or a get in `bench/api.py`)."""
    gc.collect()
    gc.freeze()


def app_from_environment() -> Litestar:
    """The app of one of several web processes (`reflector web` names it to uvicorn, WEB_CONCURRENCY > 1): its
    settings from the environment, as `reflector web` read them."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


def create_app(settings: Settings, services: Services | None = None) -> Litestar:
    """The app; given `services` (tests, embedding) it uses them and leaves their lifetime to the caller."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        app.state.services = await start_services(settings)
        _freeze_startup_objects()
        try:
            yield
        finally:
            await stop_services(app.state.services)

    init_web_error_tracking(settings)
    origins = settings.server.cors_origin_list
    app = Litestar(
        # Off unless origins are named: no other site's page may read our answers. Browsers may only seek in
        # audio served from another origin if they can read the range headers.
        cors_config=CORSConfig(
            allow_origins=origins,
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length", "Content-Disposition"],
        )
        if origins
        else None,
        middleware=[DefineMiddleware(AllowedHosts, allowed=settings.server.allowed_host_list)],
        route_handlers=[
            index,
            *ROUTES,
            *PAGES,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False, opt={"access": "open"}
            ),
        ],
        plugins=[Observability()],
        before_send=[security_headers(settings.auth.oidc_issuer if settings.auth.backend == "oidc" else None)],
        lifespan=[lifespan, fanout_lifespan, recordings_lifespan],
        state=State({"settings": settings, **({"services": services} if services is not None else {})}),
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "user_id": Provide(provide_user_id, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "recordings": Provide(provide_recordings, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "transcript": Provide(provide_transcript, sync_to_thread=False),
        },
        guards=[authenticate],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Reflector",
            version="0.1.0",
            path="/schema",
            operation_id_creator=_operation_id,
            render_plugins=[SwaggerRenderPlugin(), JsonRenderPlugin()],
            # Either credential works on every route; which routes need one is in the README's table.
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                    "Bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                }
            ),
            security=[{"ApiKey": []}, {"Bearer": []}, {}],
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_template_globals
        ),
    )
    check_rules(app)
    return app
