"""What the auth module hands out: users and API keys as plain Structs, never table rows."""

from datetime import datetime
from typing import Literal

import msgspec

Role = Literal["user", "admin"]

# With AUTH_BACKEND=none one local user owns everything; transcripts made before accounts carry this id.
LOCAL_USER_ID = "local"


class UserView(msgspec.Struct, frozen=True):
    id: str
    sub: str | None  # the identity provider's subject; None for the local user
    email: str | None
    name: str
    role: Role
    created_at: datetime


class ApiKeyView(msgspec.Struct, frozen=True):
    """A key as it may be shown again: everything but the key itself."""

    id: str
    user_id: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None


class CreatedApiKey(msgspec.Struct, frozen=True):
    """A new key with its plaintext, which exists only in this value: the database keeps its hash."""

    view: ApiKeyView
    key: str


class ApiKeyNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("API key not found")
