"""How each platform signs the webhooks it sends, written from their documentation independently of
reflector.adapters.platforms.webhooks, so a test signs as the platform would and not as our verifier reads."""

import base64
import hashlib
import hmac
import time

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
