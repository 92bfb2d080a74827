"""Every failure the domain defines is a DomainError with its status, so none can reach a client as a 500."""

import importlib
import inspect
import pkgutil

import httpx
import pytest
from litestar import Litestar, get

import reflector.domain
from reflector.domain.errors import DomainError
from reflector.domain.transcripts.editing import InvalidCorrection
from reflector.web.errors import EXCEPTION_HANDLERS


def _domain_exceptions() -> list[type[Exception]]:
    found = []
    for module in pkgutil.walk_packages(reflector.domain.__path__, "reflector.domain."):
        loaded = importlib.import_module(module.name)
        for _, kind in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(kind, Exception) and kind.__module__ == loaded.__name__:
                found.append(kind)
    return found


def test_every_domain_failure_is_a_domain_error_with_a_client_status() -> None:
    kinds = _domain_exceptions()
    assert len(kinds) >= 20, kinds
    strays = [kind.__qualname__ for kind in kinds if not issubclass(kind, DomainError)]
    assert not strays, f"failures the web layer would answer 500: {strays}"
    assert all(400 <= kind.status < 600 for kind in kinds if issubclass(kind, DomainError))


@pytest.mark.parametrize(("failure", "status"), [(InvalidCorrection("A name is at most 255 characters"), 400)])
async def test_a_domain_failure_no_table_names_is_answered_with_its_status(failure: Exception, status: int) -> None:
    @get("/v1/fails")
    async def fails() -> None:
        raise failure

    app = Litestar([fails], exception_handlers=EXCEPTION_HANDLERS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        answer = await client.get("/v1/fails")
    assert (answer.status_code, answer.json()) == (status, {"detail": str(failure)})
