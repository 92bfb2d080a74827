"""The Litestar application, built by a factory so tests and processes each get their own."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.response import Template
from litestar.template.config import TemplateConfig

from reflector.bootstrap import Services, start_services, stop_services
from reflector.settings import Settings
from reflector.web.paths import TEMPLATES_DIR


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "healthy"}


@get("/")
async def index(state: State) -> Template:
    services: Services = state.services
    transcripts = await services.transcripts.list_recent(50)
    return Template(template_name="pages/index.html", context={"transcripts": transcripts})


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.services = await start_services(settings)
        try:
            yield
        finally:
            await stop_services(app.state.services)

    return Litestar(
        route_handlers=[health, index],
        lifespan=[lifespan],
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
    )
