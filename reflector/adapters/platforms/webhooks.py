"""Verification of the webhooks Daily.co, Whereby and LiveKit send us (daily_webhooks, whereby_webhooks,
livekit_webhooks; what they share is here): pure functions of the headers, the RAW body bytes and the clock.
Each returns the parsed event or raises ForgedWebhook (answer 401, change nothing) or UnreadableWebhook
(authentic but no event we can read: answer 2xx and log it, since Daily switches a webhook off after 3 failed
deliveries). An authentic event of a type we do not handle parses with `handled=False`. Replays inside the
window are the receiver's to refuse, by the event's id.

The signature is always checked over the bytes as received, never over re-serialised JSON: Reflector
re-encodes Whereby's body before hashing, which breaks on key order and on non-ASCII display names."""

from collections.abc import Mapping
from typing import Any

import msgspec

# Older than this, a signed request is refused (a replay window); ahead of our clock, by more than SKEW_S.
MAX_AGE_S = 300
SKEW_S = 30


class ForgedWebhook(Exception):
    """Not sent by the platform, or not now: bad or missing signature, stale or future timestamp."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} webhook refused: {reason}")
        self.platform = platform
        self.reason = reason


class UnreadableWebhook(Exception):
    """Signed by the platform, but the body is no event envelope we can read."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} webhook unreadable: {reason}")
        self.platform = platform
        self.reason = reason


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the case the mapping keeps it in."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def check_fresh(platform: str, timestamp: float, now: float) -> None:
    if timestamp > now + SKEW_S:
        raise ForgedWebhook(platform, f"its timestamp is {timestamp - now:.0f} s in the future")
    if now - timestamp > MAX_AGE_S:
        raise ForgedWebhook(platform, f"its timestamp is {now - timestamp:.0f} s old (more than {MAX_AGE_S} s)")


def unix_seconds(platform: str, text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise ForgedWebhook(platform, f"its timestamp {text!r} is not a unix time") from None
    return value / 1000 if value > 1e11 else value  # milliseconds, as some senders write


def decode_event(platform: str, body: bytes, kind: type) -> Any:
    try:
        return msgspec.json.decode(body, type=kind, strict=False)
    except msgspec.DecodeError as exc:
        raise UnreadableWebhook(platform, f"not a {kind.__name__}: {exc}") from exc


def decode_payload(raw: msgspec.Raw, kind: type | None) -> tuple[Any, str | None]:
    if kind is None:
        return None, None
    try:
        return msgspec.json.decode(raw, type=kind, strict=False), None
    except msgspec.DecodeError as exc:
        return None, str(exc)
