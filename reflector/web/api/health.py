"""Liveness, as Reflector's."""

from litestar import get


@get("/health", sync_to_thread=False, include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "healthy"}


ROUTES = [health]
