"""The API keys settings page in a real browser: a key is created, shown once, works against the API,
and stops working once revoked through the confirmation dialog."""

import re

import httpx
from playwright.async_api import Page, expect

from reflector.bootstrap import Services
from tests.web.conftest import no_serious_violations, screenshots


async def test_create_use_and_revoke_a_key(page: Page, served: str) -> None:
    await page.goto("/settings/api-keys")
    await expect(page.get_by_text("You have no API keys yet.")).to_be_visible()
    await no_serious_violations(page)
    await screenshots(page, "settings-api-keys-empty")

    await page.get_by_label("Name").fill("Nightly export")
    await page.get_by_role("button", name="Create key").click()
    reveal = page.get_by_role("textbox", name="New API key")
    await expect(reveal).to_have_value(re.compile(r"^rfl_"))
    await expect(page.get_by_text("it won't be shown again")).to_be_visible()
    key = await reveal.input_value()
    assert key.startswith("rfl_")
    await expect(page.get_by_role("row", name="Nightly export")).to_contain_text("Never")
    await no_serious_violations(page)
    await screenshots(page, "settings-api-keys-created")

    await page.reload()
    await expect(page.get_by_role("row", name="Nightly export")).to_be_visible()
    await expect(page.get_by_role("textbox", name="New API key")).to_have_count(0)
    assert key not in await page.content()

    async with httpx.AsyncClient(base_url=served) as client:
        me = await client.get("/v1/me", headers={"X-API-Key": key})
        assert me.status_code == 200 and me.json()["sub"] == "local"

        await page.reload()
        await expect(page.get_by_role("row", name="Nightly export")).not_to_contain_text("Never")
        await page.get_by_role("button", name="Revoke Nightly export").click()
        dialog = page.get_by_role("dialog", name="Revoke “Nightly export”?")
        await expect(dialog).to_be_visible()
        await no_serious_violations(page)
        await screenshots(page, "settings-api-keys-revoke-dialog")
        await dialog.get_by_role("button", name="Revoke key").click()
        await expect(page.get_by_text("The key was revoked")).to_be_visible()
        await expect(page.get_by_text("You have no API keys yet.")).to_be_visible()

        revoked = await client.get("/v1/me", headers={"X-API-Key": key})
        assert revoked.status_code == 401 and revoked.json() == {"detail": "Invalid API key"}


async def test_cancelling_the_dialog_keeps_the_key(page: Page, clean: Services) -> None:
    await clean.auth.create_key("local", "Keep me")
    await page.goto("/settings/api-keys")
    await page.get_by_role("button", name="Revoke Keep me").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await page.reload()
    await expect(page.get_by_role("row", name="Keep me")).to_be_visible()
    assert [k.name for k in await clean.auth.keys("local")] == ["Keep me"]


async def test_the_settings_link_is_in_the_nav(page: Page) -> None:
    await page.goto("/browse")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await expect(page).to_have_url(re.compile(r"/settings/api-keys$"))
    await expect(page.get_by_role("heading", name="API keys")).to_be_visible()
