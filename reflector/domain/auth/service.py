"""Use cases of the auth module: who a caller is, and the API keys people make for their scripts."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import structlog

from reflector.domain.auth import repository
from reflector.domain.auth.models import LOCAL_USER_ID, ApiKeyNotFound, ApiKeyView, CreatedApiKey, UserView

log = structlog.get_logger(__name__)

# A recognisable prefix lets people (and secret scanners) tell a Reflector key from other secrets.
KEY_PREFIX = "rfl_"
KEY_BYTES = 32
# last_used_at is for people deciding which keys to revoke: minute precision is plenty.
TOUCH_INTERVAL = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AuthService:
    async def ensure_local_user(self) -> UserView:
        """The single owner of everything when AUTH_BACKEND=none; created on first need."""
        await repository.ensure_user(LOCAL_USER_ID, name="Local user", role="admin")
        user = await repository.get_user(LOCAL_USER_ID)
        assert user is not None
        return user

    async def user(self, user_id: str) -> UserView | None:
        if user_id == LOCAL_USER_ID:
            return await self.ensure_local_user()
        return await repository.get_user(user_id)

    async def create_key(self, user_id: str, name: str | None) -> CreatedApiKey:
        if user_id == LOCAL_USER_ID:
            await self.ensure_local_user()
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        view = await repository.insert_key(user_id, name, hash_key(key))
        log.info("audit.api_key_created", user_id=user_id, key_id=view.id, key_name=name)
        return CreatedApiKey(view=view, key=key)

    async def keys(self, user_id: str) -> list[ApiKeyView]:
        """A user's keys, newest first."""
        return await repository.keys_of(user_id)

    async def delete_key(self, user_id: str, key_id: str) -> None:
        # Another user's key answers exactly as a missing one, so ids cannot be probed.
        if not await repository.delete_key(key_id, user_id):
            raise ApiKeyNotFound()
        log.info("audit.api_key_deleted", user_id=user_id, key_id=key_id)

    async def user_for_key(self, key: str) -> str | None:
        """The id of the user a presented key belongs to, or None for a key that is not (or no longer) valid."""
        presented = hash_key(key)
        stored = await repository.key_by_hash(presented)
        # The lookup is by hash, so timing reveals nothing about the key; compare_digest keeps the check exact.
        if stored is None or not hmac.compare_digest(stored.key_hash, presented):
            return None
        now = datetime.now(UTC)
        last = stored.view.last_used_at
        if last is None or now - last >= TOUCH_INTERVAL:
            await repository.touch_key(stored.view.id, now - TOUCH_INTERVAL)
        return stored.view.user_id
