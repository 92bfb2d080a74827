"""How an outbound webhook is signed: both Reflector's header and Standard Webhooks' at once.

- Reflector (wire-compatible with its receivers): `X-Webhook-Signature: t=<unix s>,v1=<hex>`, the hex
  HMAC-SHA256 of `"{t}.{body}"` keyed with the secret's UTF-8 bytes, the whole string (`whsec_` included).
- Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>`, the
  HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret's bytes: the base64 after `whsec_` for a
  secret we generated, else (a secret its owner typed) its UTF-8 bytes.

During a rotation's grace period both secrets sign: Reflector's header carries two `v1=` (the new one first,
as Stripe does), Standard Webhooks' two space-separated signatures; a receiver holding either secret verifies.

The body is signed as the exact bytes sent. The id is the event's, the same on every attempt and on a
redelivery, so a receiver can deduplicate; the timestamp is the attempt's.
"""

import base64
import binascii
import hashlib
import hmac

PREFIX = "whsec_"
USER_AGENT = "Reflector-Webhook/1.0"


def standard_key(secret: str) -> bytes:
    """The key bytes of a secret as Standard Webhooks reads it."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except binascii.Error:
            pass  # not base64 after all: signed with its text, as any other secret
    return secret.encode()


def reflector_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of Reflector's `X-Webhook-Signature`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The value of Standard Webhooks' `webhook-signature` for one secret."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    *,
    event: str,
    webhook_id: str,
    attempt: int,
    timestamp: int,
    body: bytes,
    secret: str | None,
    previous: str | None = None,
) -> dict[str, str]:
    """Every header of one attempt; `attempt` counts from 1 (Reflector's `X-Webhook-Retry` from 0);
    `previous`: a rotated-out secret still in its grace period."""
    out = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": event,
        "X-Webhook-Retry": str(attempt - 1),
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        out["X-Webhook-Signature"] = reflector_signature(secret, timestamp, body)
        out["webhook-signature"] = standard_signature(secret, webhook_id, timestamp, body)
        if previous and previous != secret:
            old = reflector_signature(previous, timestamp, body).split(",", 1)[1]
            out["X-Webhook-Signature"] += f",{old}"
            out["webhook-signature"] += " " + standard_signature(previous, webhook_id, timestamp, body)
    return out
