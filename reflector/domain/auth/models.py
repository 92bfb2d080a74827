"""What the auth module hands out: users and API keys as plain Structs, never table rows."""

from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from reflector.domain.errors import Conflict, DomainError, NotFound

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


class ApiKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("API key not found")


class Caller(msgspec.Struct, frozen=True):
    """Who is asking: a user (and how they proved it) or nobody."""

    user_id: str | None  # None: an anonymous visitor
    role: Role = "user"
    # How the caller was recognised; only "session" comes from a browser cookie (what CSRF is about).
    via: Literal["local", "session", "api_key", "token", "anonymous"] = "anonymous"
    name: str = ""  # what the page header shows
    # When the credential lapses (epoch seconds): a session's or a token's expiry; None for keys and the local user.
    expires_at: float | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def admin(self) -> bool:
        return self.user_id is not None and self.role == "admin"


ANONYMOUS = Caller(user_id=None)


class Identity(msgspec.Struct, frozen=True):
    """Who the identity provider vouches for, from a verified token."""

    sub: str
    email: str | None
    name: str
    expires_at: float | None = None  # the token's `exp` (epoch seconds), when it came from one


class InvalidCredential(DomainError):
    """A credential was presented and is not valid (unknown key, bad signature, expired, wrong audience, ...)."""

    status: ClassVar[int] = 401


class SignInFailed(DomainError):
    """The provider's answer to a sign-in could not be used; the message says what to do."""


class UserNotFound(NotFound):
    def __init__(self, who: str) -> None:
        super().__init__(f"No user {who}: they must sign in once before their role can be changed")


class RoleChangeRefused(Conflict):
    """A role change that would lock people out: your own role, or the last admin's."""
