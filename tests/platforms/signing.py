"""How each platform signs the webhooks it sends, written from their documentation independently of
reflector.adapters.platforms.webhooks, so a test signs as the platform would and not as our verifier reads;
and `send_daily`/`send_whereby`/`send_livekit`, which post a signed event to any URL (a receiver under test)."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey


def daily_headers(body: bytes, secret_b64: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Webhook-Signature: base64 HMAC-SHA256 of "{timestamp}.{body}" under the base64-decoded secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(base64.b64decode(secret_b64), f"{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Webhook-Timestamp": stamp,
    }


def whereby_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """whereby-signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "whereby-signature": f"t={stamp},v1={mac}"}


def livekit_headers(
    body: bytes, api_key: str, api_secret: str, issued_at: int | None = None, valid_for_s: int = 300
) -> dict[str, str]:
    """Authorization: a JWT (HS256, API secret) from the API key whose sha256 claim is the body's hash."""
    now = int(time.time()) if issued_at is None else issued_at
    claims = {
        "iss": api_key,
        "nbf": now,
        "exp": now + valid_for_s,
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    token = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(api_secret))
    return {"Content-Type": "application/webhook+json", "Authorization": token}


# ---- sending: what a receiver's tests post to it, signed as the platform would ----


def body_of(event: dict[str, Any] | bytes) -> bytes:
    """The bytes a platform sends: compact JSON, non-ASCII as UTF-8 (bytes pass unchanged, to send odd ones)."""
    return event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)


async def send_daily(
    url: str, event: dict[str, Any] | bytes, secret_b64: str, *, timestamp: int | None = None
) -> httpx.Response:
    body = body_of(event)
    return await post(url, body, daily_headers(body, secret_b64, timestamp))


async def send_whereby(
    url: str, event: dict[str, Any] | bytes, secret: str, *, timestamp: int | None = None
) -> httpx.Response:
    body = body_of(event)
    return await post(url, body, whereby_headers(body, secret, timestamp))


async def send_livekit(
    url: str, event: dict[str, Any] | bytes, api_key: str, api_secret: str, *, issued_at: int | None = None
) -> httpx.Response:
    body = body_of(event)
    return await post(url, body, livekit_headers(body, api_key, api_secret, issued_at))
