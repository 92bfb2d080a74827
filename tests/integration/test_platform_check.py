"""`reflector platforms check` against the Daily fake: our webhook created when missing, a FAILED one made
ACTIVE again (and said so), and what is not configured named."""

import argparse
import base64

import msgspec
import pytest

from reflector.entrypoints import commands
from reflector.platform_check import check_platforms
from reflector.settings import PlatformSettings, Settings
from tests.platforms.conftest import daily, inbox  # noqa: F401 - fixtures
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.fake_server import Inbox

SECRET = base64.b64encode(b"d" * 32).decode()


def on_daily(fake: FakeDaily) -> PlatformSettings:
    return PlatformSettings(daily_api_key=fake.api_key, daily_api_url=fake.api_url, daily_webhook_secret=SECRET)


async def test_a_missing_webhook_is_created_with_our_secret(daily: FakeDaily, inbox: Inbox) -> None:  # noqa: F811
    report = await check_platforms(on_daily(daily), inbox.url)

    assert report.ok, report.lines
    assert report.lines[:3] == ["daily: configured", "whereby: not configured", "livekit: not configured"]
    assert report.lines[3] == f"daily: webhook created for {inbox.url} (ACTIVE)"
    (hook,) = daily.webhooks.values()
    assert hook["hmac"] == SECRET and "recording.ready-to-download" in hook["eventTypes"]
    assert inbox.events() == [{"test": "test"}]
    again = await check_platforms(on_daily(daily), inbox.url)
    assert again.ok and again.lines[3] == f"daily: webhook {hook['uuid']} for {inbox.url} is ACTIVE"
    assert len(daily.webhooks) == 1


async def test_a_failed_webhook_is_reported_and_made_active_again(daily: FakeDaily, inbox: Inbox) -> None:  # noqa: F811
    await check_platforms(on_daily(daily), inbox.url)
    (hook,) = daily.webhooks.values()
    inbox.status = 500
    for _ in range(3):
        await daily.deliver("participant.joined", {"room": "r", "session_id": "s"})
    assert hook["state"] == "FAILED"

    report = await check_platforms(on_daily(daily), inbox.url)
    failed = f"daily: webhook {hook['uuid']} was FAILED after 3 failed deliveries: Daily sent nothing since"
    assert failed in report.lines
    assert report.lines[-1] == f"daily: webhook {hook['uuid']} is ACTIVE again" and hook["state"] == "ACTIVE"


async def test_a_daily_without_a_webhook_secret_is_a_problem(daily: FakeDaily) -> None:  # noqa: F811
    platforms = msgspec.structs.replace(on_daily(daily), daily_webhook_secret=None)
    report = await check_platforms(platforms, "http://127.0.0.1:9/v1/daily/webhook")
    assert not report.ok and "DAILY_WEBHOOK_SECRET is not set" in report.lines[-1]
    assert daily.webhooks == {}


def test_the_command_says_what_it_found_and_fails_on_a_problem(
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    unreachable = "http://127.0.0.1:9/v1/daily/webhook"  # Daily's test POST cannot reach it: not created
    args = argparse.Namespace(command="platforms", action="check", webhook_url=unreachable)
    configured = msgspec.structs.replace(settings, platforms=on_daily(daily))
    assert commands.dispatch(args, configured) == 1
    out = capsys.readouterr().out
    assert "daily: configured" in out and "non-200 status code returned from webhook endpoint" in out
