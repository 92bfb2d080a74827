"""Liveness, as Reflector's, and readiness: whether the dependencies answer and a worker is alive."""

import msgspec
from litestar import Response, get

from reflector.bootstrap import Services
from reflector.domain.health import ProbeResult, readiness


class ReadinessBody(msgspec.Struct, omit_defaults=True):
    status: str
    checks: dict[str, ProbeResult]
    detail: str | None = None


@get("/health", sync_to_thread=False, include_in_schema=False, opt={"access": "open"})
def health() -> dict[str, str]:
    return {"status": "healthy"}


@get("/health/ready", include_in_schema=False, opt={"access": "open"})
async def health_ready(services: Services) -> Response[ReadinessBody]:
    state = await readiness(services.redis, services.storage)
    if state.ready:
        return Response(ReadinessBody(status="ready", checks=state.checks))
    detail = f"Not ready: {', '.join(state.down)} unavailable"
    return Response(ReadinessBody(status="unavailable", checks=state.checks, detail=detail), status_code=503)


ROUTES = [health, health_ready]
