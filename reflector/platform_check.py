"""`reflector platforms check`: which video platforms are configured, and whether Daily will deliver its
webhooks to us. Daily switches a webhook to FAILED after 3 failed deliveries and then sends nothing more,
silently; this finds our webhook (by its URL), creates it when missing, and makes a FAILED one ACTIVE again
(Daily re-activates a webhook when it is updated), each time with DAILY_WEBHOOK_SECRET as its key."""

from dataclasses import dataclass, field

from reflector.adapters.platforms.daily import DailyClient
from reflector.adapters.platforms.transport import PlatformError
from reflector.settings import PlatformSettings

# What Reflector acts on or records (platform_events.py); Daily sends only the types a webhook names.
DAILY_EVENTS = [
    "participant.joined",
    "participant.left",
    "recording.started",
    "recording.ready-to-download",
    "recording.error",
]


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def say(self, line: str, *, problem: bool = False) -> None:
        self.lines.append(line)
        self.ok = self.ok and not problem


def daily_webhook_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/v1/daily/webhook"


async def check_platforms(platforms: PlatformSettings, webhook_url: str) -> Report:
    report = Report()
    for name in ("daily", "whereby", "livekit"):
        configured = name in platforms.available
        report.say(f"{name}: {'configured' if configured else 'not configured'}")
    if "whereby" in platforms.available and not platforms.whereby_webhook_secret:
        report.say("whereby: WHEREBY_WEBHOOK_SECRET is not set, so its webhooks are refused", problem=True)
    if "daily" in platforms.available:
        await _check_daily(platforms, webhook_url, report)
    return report


async def _check_daily(platforms: PlatformSettings, url: str, report: Report) -> None:
    secret = platforms.daily_webhook_secret
    if not secret:
        report.say("daily: DAILY_WEBHOOK_SECRET is not set, so its webhooks are refused", problem=True)
        return
    async with DailyClient.from_settings(platforms) as daily:
        try:
            hooks = [hook for hook in await daily.list_webhooks() if hook.url == url]
            if not hooks:
                created = await daily.create_webhook(url, DAILY_EVENTS, hmac=secret)
                report.say(f"daily: webhook created for {url} ({created.state})")
                return
            hook = hooks[0]
            if hook.state == "FAILED":
                report.say(
                    f"daily: webhook {hook.uuid} was FAILED after {hook.failed_count} failed deliveries: "
                    "Daily sent nothing since"
                )
                hook = await daily.update_webhook(hook.uuid, event_types=DAILY_EVENTS, hmac=secret)
                report.say(f"daily: webhook {hook.uuid} is {hook.state} again", problem=hook.state != "ACTIVE")
            elif hook.hmac is not None and hook.hmac != secret:
                hook = await daily.update_webhook(hook.uuid, hmac=secret)
                report.say(f"daily: webhook {hook.uuid} signed with another secret: now DAILY_WEBHOOK_SECRET")
            else:
                report.say(f"daily: webhook {hook.uuid} for {url} is {hook.state}")
        except PlatformError as exc:
            report.say(f"daily: {exc}", problem=True)
