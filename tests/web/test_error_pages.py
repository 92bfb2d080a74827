"""Errors on a person's page are pages that say what happened and where to go; a failure of ours carries a
request id that names its line in the server log. The /v1 API keeps Reflector's JSON errors."""

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import get
from litestar.exceptions import PermissionDeniedException
from playwright.async_api import Page, expect
from structlog.testing import capture_logs

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.web.conftest import no_serious_violations, screenshots


@get("/faults/broken", include_in_schema=False, opt={"access": "open"})
async def broken_page() -> str:
    raise RuntimeError("the page's code is broken")


@get("/v1/broken", include_in_schema=False, opt={"access": "open"})
async def broken_api() -> str:
    raise RuntimeError("the API's code is broken")


@get("/faults/secret", include_in_schema=False, opt={"access": "open"})
async def forbidden_page() -> str:
    raise PermissionDeniedException("Not yours")


@pytest.fixture
async def app_with_faults(clean: Services, settings: Settings) -> AsyncIterator[str]:
    """The app, plus routes that fail as only a bug (or a permission check) would, on a loopback port."""
    app = create_app(settings, services=clean)
    for route in (broken_page, broken_api, forbidden_page):
        app.register(route)
    async with serve(app) as url:
        yield url


async def test_a_missing_transcript_or_page_is_a_page_with_ways_on(page: Page) -> None:
    response = await page.goto("/transcripts/does-not-exist")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("We can't find that transcript")
    await expect(page.get_by_role("link", name="Browse transcripts")).to_have_attribute("href", "/browse")
    await no_serious_violations(page)
    await screenshots(page, "error-404")

    response = await page.goto("/no-such-page")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("We can't find that page")
    await expect(page.get_by_role("link", name="New transcript").last).to_be_visible()


async def test_the_api_keeps_its_json_errors(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        missing = await client.get("/v1/transcripts/nope")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Transcript nope not found"})
        unrouted = await client.get("/v1/no-such-thing")
        assert unrouted.status_code == 404 and unrouted.json() == {"detail": "Not Found"}
        assert (await client.get("/static/no-such-file.css")).headers["content-type"].startswith("application/json")


async def test_a_failure_of_ours_shows_a_request_id_that_is_in_the_log(page: Page, app_with_faults: str) -> None:
    with capture_logs() as logs:
        response = await page.goto(f"{app_with_faults}/faults/broken")
    assert response is not None and response.status == 500
    await expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong on our side")
    request_id = await page.locator(".error-request-id").inner_text()
    assert len(request_id) == 32 and response.headers["x-request-id"] == request_id
    failures = [entry for entry in logs if entry["event"] == "request.failed"]
    assert [(f["request_id"], f["path"]) for f in failures] == [(request_id, "/faults/broken")]
    assert "the page's code is broken" in str(failures[0]["exc_info"])
    await no_serious_violations(page)
    await screenshots(page, "error-500")


async def test_a_proxy_request_id_is_kept_and_the_api_answers_json(app_with_faults: str) -> None:
    async with httpx.AsyncClient(base_url=app_with_faults) as client:
        with capture_logs() as logs:
            page = await client.get("/faults/broken", headers={"X-Request-ID": "edge-7f3a"})
            api = await client.get("/v1/broken", headers={"X-Request-ID": 'x" forged="1'})
    assert page.status_code == 500 and "edge-7f3a" in page.text
    assert (api.status_code, api.json()) == (500, {"detail": "Internal server error"})
    # An id that could break the log line is replaced by one of ours.
    assert api.headers["x-request-id"] != 'x" forged="1' and len(api.headers["x-request-id"]) == 32
    ids = [entry["request_id"] for entry in logs if entry["event"] == "request.failed"]
    assert ids == ["edge-7f3a", api.headers["x-request-id"]]


async def test_a_refusal_says_whose_it_is(page: Page, app_with_faults: str) -> None:
    response = await page.goto(f"{app_with_faults}/faults/secret")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this")
    await expect(page.get_by_text("Ask its owner to share it.")).to_be_visible()
