"""The Rooms pages in a real browser, against the local Daily fake: a room created through the list's form
(a duplicate name answered with the API's 409 sentence, in the form), edited; its page joined (a meeting
opened on Daily, the link carrying the person's Daily token), the consent question declined and remembered,
the meeting listed and ended; the room's past transcripts listed. The same forms posted without JavaScript."""

import dataclasses
import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, Page, Route, expect

from reflector.bootstrap import Services, video_platforms
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.platforms.conftest import daily, whereby  # noqa: F401 - fixtures
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.whereby_fake import FakeWhereby
from tests.web.conftest import no_serious_violations, screenshots

LOCAL = "local"  # AUTH_BACKEND=none: every caller is the local user, owner of every room


@pytest.fixture
async def app_url(clean: Services, settings: Settings, daily: FakeDaily) -> AsyncIterator[tuple[str, Services]]:  # noqa: F811
    """The app served with Daily configured against the fake."""
    platforms = PlatformSettings(daily_api_key=daily.api_key, daily_api_url=daily.api_url)
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    services = dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    try:
        async with serve(create_app(configured, services=services)) as url:
            yield url, services
    finally:
        await close_platforms(bound)


@pytest.fixture
async def tab(browser: Browser, app_url: tuple[str, Services]) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=app_url[0], viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    yield await context.new_page()
    await context.close()


async def test_create_a_room_see_a_taken_name_refused_and_edit_it(tab: Page, app_url: tuple[str, Services]) -> None:
    page, services = tab, app_url[1]
    await services.rooms.create(LOCAL, RoomSettings(name="standup", platform="whereby"))
    await page.goto("/rooms")
    await expect(page.get_by_role("heading", name="Rooms", exact=True)).to_be_visible()
    await expect(page.locator(".room-row")).to_have_count(1)

    await page.get_by_role("link", name="New room").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("heading", name="New room")).to_be_visible()
    await dialog.get_by_label("Name").fill("Team Stand-up")
    await dialog.get_by_label("Platform").select_option("daily")
    await dialog.get_by_label("Shared with everyone signed in").check()
    await dialog.get_by_label("Zulip stream").fill("engineering")
    await dialog.get_by_role("button", name="Create room").click()
    await expect(page.locator(".room-row")).to_have_count(2)
    row = page.locator('.room-row[data-room="team-stand-up"]')
    await expect(row).to_contain_text("Daily")
    await expect(row).to_contain_text("shared")
    await expect(row).to_contain_text("No meeting")
    created = await services.rooms.named("team-stand-up")
    assert created.is_shared and created.zulip_stream == "engineering" and created.platform == "daily"

    # A name already taken: the API's 409 sentence, in the form, with what was typed kept.
    await page.get_by_role("link", name="New room").click()
    await dialog.get_by_label("Name").fill("Standup")
    await dialog.get_by_label("Zulip topic").fill("daily notes")
    await dialog.get_by_role("button", name="Create room").click()
    await expect(dialog.get_by_role("alert")).to_have_text("A room named 'standup' already exists: choose another name")
    await expect(dialog.get_by_label("Zulip topic")).to_have_value("daily notes")
    await no_serious_violations(page)
    await screenshots(page, "rooms-duplicate-name")
    await dialog.get_by_role("link", name="Cancel").click()
    await expect(dialog).to_be_hidden()

    await page.get_by_role("link", name="Edit team-stand-up").click()
    await expect(dialog.get_by_label("Name")).to_have_value("team-stand-up")
    await dialog.locator("select[name=recording_type]").select_option("none")
    await dialog.get_by_label("Webhook URL").fill("https://hooks.example/in")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator('.room-row[data-room="team-stand-up"]')).to_contain_text("none")
    edited = await services.rooms.named("team-stand-up")
    assert (
        edited.recording_type == "none" and edited.webhook_url == "https://hooks.example/in" and edited.webhook_secret
    )
    await no_serious_violations(page)
    await screenshots(page, "rooms-list")


async def test_join_decline_consent_and_see_the_meeting_and_past_transcripts(
    tab: Page,
    app_url: tuple[str, Services],
    daily: FakeDaily,  # noqa: F811
) -> None:
    page, services = tab, app_url[1]
    room = await services.rooms.create(LOCAL, RoomSettings(name="design", platform="daily"))
    past = await services.transcripts.create(NewTranscript(name="design review", user_id=LOCAL, room_id=room.id))
    await transcripts_table.update(past.id, {"title": "Palette decided", "status": "ended"})
    starts = now() + timedelta(hours=2)
    event = {
        "ics_uid": "retro@example.org",
        "recurrence_id": "",
        "title": "Sprint retro",
        "description": "",
        "start_time": starts,
        "end_time": starts + timedelta(hours=1),
        "attendees": [],
        "location": "http://127.0.0.1/design",
        "ics_raw_data": "",
    }
    await rooms_table.save_calendar_event(room.id, event, now())

    await page.goto("/rooms")
    await expect(page.locator('.room-row[data-room="design"]')).to_contain_text("Next: Sprint retro")
    await page.goto("/design")
    await expect(page.get_by_role("heading", name="design")).to_be_visible()
    await expect(page.get_by_text("No meeting is on now.")).to_be_visible()
    await expect(page.locator(".upcoming")).to_contain_text("Sprint retro")
    await expect(page.get_by_role("link", name="Palette decided")).to_have_attribute("href", f"/transcripts/{past.id}")
    await no_serious_violations(page)
    await screenshots(page, "room-page")

    async def daily_room_page(route: Route) -> None:  # Daily's own page for a room the fake has
        name = urlsplit(route.request.url).path.strip("/")
        known = name in daily.rooms and "t=" in route.request.url
        body = f'<!doctype html><html lang="en"><title>Daily</title><main>Daily call in {name}</main></html>'
        await route.fulfill(status=200 if known else 404, content_type="text/html", body=body)

    await page.route("https://*.daily.co/**", daily_room_page)
    await page.get_by_role("button", name="Join now").click()
    consent = page.get_by_role("dialog", name="May this meeting be recorded?")
    await expect(consent).to_be_visible()
    [meeting] = await services.meetings.active(room)
    assert meeting.room_name in daily.rooms
    # The platform's room framed on the page, under the person's token.
    frame = page.frame_locator("iframe.meeting-frame")
    await expect(frame.get_by_text(f"Daily call in {meeting.room_name}")).to_be_visible()
    link = page.get_by_role("link", name="Open the meeting")
    href = await link.get_attribute("href")
    assert href and href.startswith(meeting.room_url) and "t=" in href  # the local user's Daily token
    assert daily.tokens and daily.tokens[-1]["is_owner"] is True
    await no_serious_violations(page)
    await screenshots(page, "room-consent")

    await consent.get_by_role("button", name="Decline").click()
    await expect(page.get_by_role("status").filter(has_text="You declined to be recorded")).to_be_visible()
    await expect(consent).to_have_count(0)
    answer = await services.meetings.answer_of(meeting.id, LOCAL, None)
    assert answer is not None and answer.consent_given is False
    await page.reload()  # remembered: not asked again
    await expect(page.get_by_role("status").filter(has_text="You declined")).to_be_visible()
    await expect(page.get_by_role("dialog")).to_have_count(0)

    await page.get_by_role("link", name="design").click()
    ongoing = page.locator(".meeting")
    await expect(ongoing).to_have_count(1)
    await expect(ongoing).to_contain_text("in it")
    await screenshots(page, "room-meeting-on")
    await ongoing.get_by_role("button", name="End meeting").click()
    await expect(page.get_by_text("No meeting is on now.")).to_be_visible()
    assert await services.meetings.active(room) == []


async def test_without_javascript_forms_post_and_answer_by_redirect(app_url: tuple[str, Services]) -> None:
    base = app_url[0]
    same_site = {"Sec-Fetch-Site": "same-origin"}
    async with httpx.AsyncClient(base_url=base, headers=same_site) as http:
        made = await http.post("/rooms", data={"name": "Ops", "platform": "daily", "recording_type": "cloud"})
        assert made.status_code == 303 and made.headers["location"] == "/rooms"
        again = await http.post("/rooms", data={"name": "ops", "platform": "daily"})
        assert again.status_code == 409 and "already exists" in again.text and "<html" in again.text
        bad = await http.post("/rooms", data={"name": "x", "platform": "teams"})
        assert bad.status_code == 422 and "Platform:" in bad.text
        reserved = await http.post("/rooms", data={"name": "Settings", "platform": "daily"})
        assert reserved.status_code == 422 and "page of Reflector" in reserved.text

        joined = await http.post("/ops/join")
        assert joined.status_code == 303
        meeting_page = joined.headers["location"]
        shown = await http.get(meeting_page)
        assert "May this meeting be recorded?" in shown.text
        answered = await http.post(f"{meeting_page}/consent", data={"consent": "yes"})
        assert answered.status_code == 303
        assert "You allowed this meeting to be recorded." in (await http.get(meeting_page)).text
        assert (await http.get("/settings")).status_code == 404  # a page of ours, never a room
        assert (await http.get("/browse")).status_code == 200


async def test_a_whereby_rooms_owner_gets_the_host_link(
    clean: Services,
    settings: Settings,
    whereby: FakeWhereby,  # noqa: F811
) -> None:
    platforms = PlatformSettings(whereby_api_key=whereby.api_key, whereby_api_url=whereby.api_url)
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    services = dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    room = await services.rooms.create(LOCAL, RoomSettings(name="board", platform="whereby", recording_type="none"))
    try:
        async with (
            serve(create_app(configured, services=services)) as base,
            httpx.AsyncClient(base_url=base, headers={"Sec-Fetch-Site": "same-origin"}) as http,
        ):
            joined = await http.post("/board/join")
            shown = await http.get(joined.headers["location"])
    finally:
        await close_platforms(bound)
    [meeting] = await services.meetings.active(room)
    assert "roomKey=" in meeting.host_room_url
    assert f'href="{meeting.host_room_url}"' in shown.text
    assert "May this meeting be recorded?" not in shown.text  # nothing is recorded: nobody is asked


async def test_the_meeting_page_frames_the_platforms_room_under_the_persons_token(
    app_url: tuple[str, Services],
    daily: FakeDaily,  # noqa: F811
) -> None:
    base, services = app_url
    room = await services.rooms.create(LOCAL, RoomSettings(name="frame", platform="daily", skip_consent=True))
    async with httpx.AsyncClient(base_url=base, headers={"Sec-Fetch-Site": "same-origin"}) as http:
        joined = await http.post("/frame/join")
        shown = await http.get(joined.headers["location"])
    [meeting] = await services.meetings.active(room)
    frame = re.search(r'<iframe class="meeting-frame" src="([^"]+)"[^>]*allow="([^"]+)"', shown.text)
    assert frame is not None, shown.text
    src, allowed = html.unescape(frame[1]), frame[2]
    assert src.startswith(f"{meeting.room_url}?t=") and daily.tokens[-1]["is_owner"] is True  # the owner's token
    assert {"camera", "microphone", "display-capture"} <= {a.strip() for a in allowed.split(";")}
    assert f'href="{frame[1]}"' in shown.text  # the same link opens in a tab of its own
    policy = dict(d.strip().split(" ", 1) for d in shown.headers["content-security-policy"].split(";"))
    assert policy["frame-src"] == "https://*.daily.co https://*.whereby.com"
    assert meeting.room_url.startswith("https://") and meeting.room_url.split("/")[2].endswith(".daily.co")
