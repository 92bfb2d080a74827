"""Browser sessions and sign-ins in progress, kept in Redis.

The cookie holds a random session id and its HMAC under SECRET_KEY: a forged or altered cookie is refused
before Redis is asked, and signing out deletes the server-side record, so a copied cookie dies with it
(a self-contained signed cookie would stay valid until it expired). A new id is issued at every sign-in,
so a session id planted before it is worth nothing after.
"""

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import msgspec
from redis.asyncio import Redis

from reflector.adapters.events import AccessChange, EventBus

SESSION_COOKIE = "reflector_session"
# The browser that started a sign-in holds this; the callback must come back to that same browser.
LOGIN_COOKIE = "reflector_login"
LOGIN_LIFETIME = timedelta(minutes=10)


class LoginAttempt(msgspec.Struct, frozen=True):
    """What a sign-in must remember across the trip to the provider."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str


class SessionStore:
    def __init__(self, redis: Redis, secret_key: str, lifetime: timedelta, bus: EventBus) -> None:
        self._redis = redis
        self._bus = bus  # a sign-out is announced, so the sockets its cookie opened close
        self._secret = hashlib.sha256(b"reflector-session:" + secret_key.encode()).digest()
        self.lifetime = lifetime

    def _sign(self, value: str) -> str:
        mac = hmac.new(self._secret, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _unsign(self, cookie: str) -> str | None:
        value, _, signature = cookie.rpartition(".")
        if not value or not hmac.compare_digest(self._sign(value), signature):
            return None
        return value

    async def start(self, user_id: str) -> str:
        """A new session for `user_id`; the cookie value to set."""
        session_id = secrets.token_urlsafe(32)
        await self._redis.set(f"reflector:session:{session_id}", user_id, ex=int(self.lifetime.total_seconds()))
        return f"{session_id}.{self._sign(session_id)}"

    async def session_for(self, cookie: str) -> tuple[str, float] | None:
        """The user a cookie's session belongs to and when (epoch seconds) it expires; None when it is not valid."""
        session_id = self._unsign(cookie)
        if session_id is None:
            return None
        key = f"reflector:session:{session_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            user_id, ttl = await pipe.get(key).pttl(key).execute()
        if user_id is None or ttl < 0:
            return None
        return user_id.decode(), time.time() + ttl / 1000

    async def end(self, cookie: str) -> None:
        session_id = self._unsign(cookie)
        if session_id is None:
            return
        user_id = await self._redis.getdel(f"reflector:session:{session_id}")
        if user_id is not None:
            await self._bus.access_changed(AccessChange(user_id=user_id.decode()))

    async def remember_login(self, attempt: LoginAttempt) -> str:
        """Keep a sign-in in progress; the value of the cookie that binds it to this browser."""
        key = f"reflector:login:{attempt.state}"
        await self._redis.set(key, msgspec.json.encode(attempt), ex=int(LOGIN_LIFETIME.total_seconds()))
        return f"{attempt.state}.{self._sign(attempt.state)}"

    async def take_login(self, state: str, cookie: str | None) -> LoginAttempt | None:
        """The sign-in `state` names, once only, and only in the browser that started it."""
        if not cookie or self._unsign(cookie) != state:
            return None
        stored = await self._redis.getdel(f"reflector:login:{state}")
        return msgspec.json.decode(stored, type=LoginAttempt) if stored is not None else None
