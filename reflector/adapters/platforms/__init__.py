"""The video platforms Reflector's rooms meet on: REST clients for Daily.co, Whereby and LiveKit, and the
verification of the webhooks each platform sends us. Every client takes its base URL from settings, so the
tests point the same code at local fakes."""

from reflector.adapters.platforms.daily_webhooks import verify_daily
from reflector.adapters.platforms.livekit_webhooks import verify_livekit
from reflector.adapters.platforms.transport import PlatformError
from reflector.adapters.platforms.webhooks import ForgedWebhook, UnreadableWebhook
from reflector.adapters.platforms.whereby_webhooks import verify_whereby

__all__ = ["ForgedWebhook", "PlatformError", "UnreadableWebhook", "verify_daily", "verify_livekit", "verify_whereby"]
