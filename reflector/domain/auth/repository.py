"""SQL for users and API keys (piccolo). Returns Structs, takes plain values."""

from datetime import datetime
from typing import Any

import msgspec

from reflector.domain.auth.models import ApiKeyView, UserView
from reflector.domain.auth.tables import ApiKey, User
from reflector.domain.ids import new_id

_USER_COLUMNS = [getattr(User, name) for name in UserView.__struct_fields__]
_KEY_COLUMNS = [getattr(ApiKey, name) for name in ApiKeyView.__struct_fields__]


class StoredKey(msgspec.Struct, frozen=True):
    """A key row as the lookup sees it: the view, the hash it was found by, and whose it is."""

    view: ApiKeyView
    key_hash: str
    owner: UserView


# The owner's columns read through the foreign key, so a key's lookup is one query.
_OWNER_COLUMNS = [getattr(ApiKey.user_id, name).as_alias(f"owner_{name}") for name in UserView.__struct_fields__]


def _key(row: dict[str, Any]) -> ApiKeyView:
    return msgspec.convert(row, ApiKeyView)


async def get_user(user_id: str) -> UserView | None:
    row = await User.select(*_USER_COLUMNS).where(User.id == user_id).first()
    return msgspec.convert(row, UserView) if row else None


async def ensure_user(user_id: str, name: str, role: str) -> None:
    """Insert the user unless a row with this id exists (concurrent callers both succeed)."""
    await User.raw(
        'INSERT INTO "user" (id, sub, email, name, role, created_at) VALUES ({}, NULL, NULL, {}, {}, now()) '
        "ON CONFLICT (id) DO NOTHING",
        user_id,
        name,
        role,
    )


async def user_by_sub(sub: str) -> UserView | None:
    row = await User.select(*_USER_COLUMNS).where(User.sub == sub).first()
    return msgspec.convert(row, UserView) if row else None


async def users_by_email(email: str) -> list[UserView]:
    rows = await User.raw(
        'SELECT id, sub, email, name, role, created_at FROM "user" WHERE lower(email) = lower({}) ORDER BY created_at',
        email,
    )
    return [msgspec.convert(row, UserView) for row in rows]


async def all_users() -> list[UserView]:
    rows = await User.select(*_USER_COLUMNS).order_by(User.created_at)
    return [msgspec.convert(row, UserView) for row in rows]


async def upsert_identity(sub: str, email: str | None, name: str) -> UserView:
    """The user of a provider subject, created on first sight; email and name follow the provider's."""
    rows = await User.raw(
        "INSERT INTO \"user\" (id, sub, email, name, role, created_at) VALUES ({}, {}, {}, {}, 'user', now()) "
        "ON CONFLICT (sub) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name "
        "RETURNING id, sub, email, name, role, created_at",
        new_id(),
        sub,
        email,
        name,
    )
    return msgspec.convert(rows[0], UserView)


async def set_role(user_id: str, role: str) -> None:
    await User.update({User.role: role}).where(User.id == user_id)


async def demote_unless_last(user_id: str) -> bool:
    """Make an admin a plain user unless no other admin who can sign in would be left; whether it did.

    The admin rows are locked first, so two admins demoting each other at once cannot both succeed. The
    local user (no `sub`) does not count: nobody can sign in as it once logins exist.
    """
    async with User._meta.db.transaction():
        admins = await User.raw('SELECT id, sub FROM "user" WHERE role = {} ORDER BY id FOR UPDATE', "admin")
        if not any(row["id"] != user_id and row["sub"] is not None for row in admins):
            return False
        await User.update({User.role: "user"}).where(User.id == user_id)
    return True


async def insert_key(user_id: str, name: str | None, key_hash: str) -> ApiKeyView:
    row = ApiKey(user_id=user_id, name=name, key_hash=key_hash)
    await row.save()
    stored = await ApiKey.select(*_KEY_COLUMNS).where(ApiKey.id == row.id).first()
    assert stored is not None
    return _key(stored)


async def keys_of(user_id: str) -> list[ApiKeyView]:
    rows = (
        await ApiKey.select(*_KEY_COLUMNS).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at, ascending=False)
    )
    return [_key(row) for row in rows]


async def key_by_hash(key_hash: str) -> StoredKey | None:
    columns = [*_KEY_COLUMNS, ApiKey.key_hash, *_OWNER_COLUMNS]
    row = await ApiKey.select(*columns).where(ApiKey.key_hash == key_hash).first()
    if row is None:
        return None
    found = row.pop("key_hash")
    owner = {name: row.pop(f"owner_{name}") for name in UserView.__struct_fields__}
    return StoredKey(view=_key(row), key_hash=found, owner=msgspec.convert(owner, UserView))


async def stored_key_row(key_id: str) -> dict[str, Any] | None:
    """Every column of a key's row, as the database holds it."""
    return await ApiKey.select().where(ApiKey.id == key_id).first()


async def delete_key(key_id: str, user_id: str) -> bool:
    """Delete a key only if it belongs to `user_id`; whether one was deleted."""
    deleted = await ApiKey.delete().where((ApiKey.id == key_id) & (ApiKey.user_id == user_id)).returning(ApiKey.id)
    return bool(deleted)


async def touch_key(key_id: str, stale_before: datetime) -> None:
    """Record a use, unless one was recorded since `stale_before` (so busy keys are not a write per request)."""
    await ApiKey.raw(
        "UPDATE api_key SET last_used_at = now() WHERE id = {} AND (last_used_at IS NULL OR last_used_at < {})",
        key_id,
        stale_before,
    )
