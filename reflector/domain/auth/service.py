"""Use cases of the auth module: who a caller is, and the API keys people make for their scripts."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import msgspec
import structlog

from reflector.adapters.events import AccessChange, EventBus
from reflector.domain.auth import repository
from reflector.domain.auth.models import (
    LOCAL_USER_ID,
    ApiKeyNotFound,
    ApiKeyView,
    CreatedApiKey,
    Identity,
    Role,
    RoleChangeRefused,
    UserNotFound,
    UserView,
)
from reflector.domain.ids import looks_like_id

log = structlog.get_logger(__name__)

# A recognisable prefix lets people (and secret scanners) tell a Reflector key from other secrets.
KEY_PREFIX = "rfl_"
KEY_BYTES = 32
# last_used_at is for people deciding which keys to revoke: minute precision is plenty.
TOUCH_INTERVAL = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AuthService:
    def __init__(self, bus: EventBus) -> None:
        # Revoking a key or changing a role is announced, so sockets opened with it are checked again.
        self._bus = bus

    async def ensure_local_user(self) -> UserView:
        """The single owner of everything when AUTH_BACKEND=none; created on first need."""
        await repository.ensure_user(LOCAL_USER_ID, name="Local user", role="admin")
        user = await repository.get_user(LOCAL_USER_ID)
        assert user is not None
        return user

    async def user(self, user_id: str) -> UserView | None:
        if user_id == LOCAL_USER_ID:
            return await self.ensure_local_user()
        return await repository.get_user(user_id) if looks_like_id(user_id) else None

    async def user_for_identity(self, identity: Identity) -> UserView:
        """The user a verified identity is, created the first time it is seen."""
        known = await repository.user_by_sub(identity.sub)
        if known is not None and known.email == identity.email and known.name == identity.name:
            return known  # the common case reads and never writes
        user = await repository.upsert_identity(identity.sub, identity.email, identity.name)
        if known is None:
            log.info("audit.user_created", user_id=user.id, sub=identity.sub)
        return user

    async def users(self) -> list[UserView]:
        return await repository.all_users()

    async def users_with_email(self, email: str) -> list[UserView]:
        """The users whose account (as their identity provider says) has this address, in any case."""
        return await repository.users_by_email(email)

    async def set_role(self, who: str, role: Role, *, by: str) -> UserView:
        """Make a user (by id or email) an admin or a plain user again.

        The one rule for every way in (the Users page, the CLI): nobody changes their own role, however
        they name themselves, and the last admin stays one, so an install is never left without one.
        """
        user = await self._find(who)
        if user.id == by:
            raise RoleChangeRefused("You can't change your own role; ask another admin.")
        if user.role == role:
            return user
        if role == "user":
            if not await repository.demote_unless_last(user.id):
                raise RoleChangeRefused(
                    f"{user.name or user.email or user.id} is the last admin; make someone else an admin first."
                )
        else:
            await repository.set_role(user.id, role)
        log.info("audit.role_changed", user_id=user.id, role=role, by=by)
        await self._bus.access_changed(AccessChange(user_id=user.id))
        return msgspec.structs.replace(user, role=role)

    async def _find(self, who: str) -> UserView:
        """A user by id, else by email (one user only: an ambiguous email must be given as an id)."""
        user = await repository.get_user(who) if looks_like_id(who) else None
        if user is not None:
            return user
        matches = await repository.users_by_email(who)
        if len(matches) > 1:
            raise UserNotFound(f"{who!r} unambiguously ({len(matches)} users have that email; use the id)")
        if not matches:
            raise UserNotFound(repr(who))
        return matches[0]

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
        if not looks_like_id(key_id) or not await repository.delete_key(key_id, user_id):
            raise ApiKeyNotFound()
        log.info("audit.api_key_deleted", user_id=user_id, key_id=key_id)
        await self._bus.access_changed(AccessChange(user_id=user_id))

    async def user_for_key(self, key: str) -> UserView | None:
        """The user a presented key belongs to, or None for a key that is not (or no longer) valid."""
        presented = hash_key(key)
        stored = await repository.key_by_hash(presented)
        # The lookup is by hash, so timing reveals nothing about the key; compare_digest keeps the check exact.
        if stored is None or not hmac.compare_digest(stored.key_hash, presented):
            return None
        now = datetime.now(UTC)
        last = stored.view.last_used_at
        if last is None or now - last >= TOUCH_INTERVAL:
            await repository.touch_key(stored.view.id, now - TOUCH_INTERVAL)
        return stored.owner
