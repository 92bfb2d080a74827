"""Accounts in a real browser: sign in through the local OpenID Connect provider, make an API key on the
settings page, call the API with it as a script would, revoke it, and sign out."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from reflector.bootstrap import Services
from tests.auth.conftest import oidc_app, oidc_services, oidc_settings, provider, web_port  # noqa: F401 - fixtures
from tests.oidc.process import Provider
from tests.web.conftest import no_serious_violations, screenshots


@pytest.fixture
async def tab(browser: Browser, oidc_app: str) -> AsyncIterator[Page]:  # noqa: F811 - the imported fixture
    context = await browser.new_context(base_url=oidc_app, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield page
    await context.close()


async def test_sign_in_make_a_key_use_it_and_sign_out(
    tab: Page,
    oidc_app: str,  # noqa: F811
    oidc_services: Services,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    # An anonymous person asking for a page is sent to the provider, and back to that page after.
    await tab.goto("/settings/api-keys")
    await expect(tab).to_have_url(re.compile(rf"^{re.escape(provider.issuer)}/authorize"))
    await tab.get_by_label("Email").fill("grace@example.org")
    await tab.get_by_label("Name").fill("Grace Hopper")
    await tab.get_by_role("button", name="Sign in").click()
    await expect(tab).to_have_url(f"{oidc_app}/settings/api-keys")
    await expect(tab.get_by_role("heading", name="API keys")).to_be_visible()
    await expect(tab.get_by_text("Grace Hopper")).to_be_visible()
    await no_serious_violations(tab)
    await screenshots(tab, "signin-settings")

    await tab.get_by_label("Name").fill("CI script")
    await tab.get_by_role("button", name="Create key").click()
    reveal = tab.get_by_role("textbox", name="New API key")
    await expect(reveal).to_have_value(re.compile(r"^rfl_"))
    key = await reveal.input_value()

    # What `curl -H "X-API-Key: $KEY"` does, from outside the browser.
    async with httpx.AsyncClient(base_url=oidc_app) as curl:
        me = (await curl.get("/v1/me", headers={"X-API-Key": key})).json()
        assert me["email"] == "grace@example.org"
        made = await curl.post("/v1/transcripts", json={"name": "From the script"}, headers={"X-API-Key": key})
        assert made.status_code == 200 and made.json()["user_id"] == me["sub"]
        listed = (await curl.get("/v1/transcripts", headers={"X-API-Key": key})).json()
        assert [t["name"] for t in listed["items"]] == ["From the script"]
        assert (await curl.get("/v1/transcripts")).status_code == 401

        # What the script made is the signed-in person's, in the browser too.
        await tab.goto("/browse")
        await expect(tab.get_by_role("link", name="From the script")).to_be_visible()

        await tab.goto("/settings/api-keys")
        await tab.get_by_role("button", name="Revoke CI script").click()
        await tab.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
        await expect(tab.get_by_text("The key was revoked")).to_be_visible()
        revoked = await curl.get("/v1/me", headers={"X-API-Key": key})
        assert revoked.status_code == 401

    # Signing out ends the provider's session too, and comes back to our front door.
    await tab.get_by_role("button", name="Sign out").click()
    await expect(tab).to_have_url(f"{oidc_app}/")
    await expect(tab.get_by_role("heading", name="Meeting transcripts, on your own server")).to_be_visible()
    await no_serious_violations(tab)
    await tab.goto("/settings/api-keys")
    await expect(tab).to_have_url(re.compile(rf"^{re.escape(provider.issuer)}/authorize"))
