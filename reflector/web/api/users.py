"""The caller (`/v1/me`) and their API keys, as Reflector's (§1.2, §1.6 of the inventory); the handler
names are those of Reflector's `views/user_api_keys.py`, so the operation ids (`v1_create_api_key`, ...) match."""

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import delete, get, post

from reflector.bootstrap import Services
from reflector.domain.auth.limits import count_key_creation
from reflector.domain.auth.models import ApiKeyView


class UserInfo(msgspec.Struct):
    sub: str  # our user id, as Reflector's (not the identity provider's subject)
    email: str | None


class CreateApiKeyRequest(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None


class ApiKeyResponse(msgspec.Struct):
    id: str
    user_id: str
    name: str | None
    created_at: datetime


class CreateApiKeyResponse(ApiKeyResponse):
    key: str  # the plaintext, shown only in this answer


class DeletedResponse(msgspec.Struct):
    status: str


def _key(view: ApiKeyView) -> ApiKeyResponse:
    return ApiKeyResponse(id=view.id, user_id=view.user_id, name=view.name, created_at=view.created_at)


@get("/v1/me", tags=["user"], opt={"access": "open"})
async def users_me(services: Services, user_id: str | None) -> UserInfo | None:
    user = await services.auth.user(user_id) if user_id else None
    return UserInfo(sub=user.id, email=user.email) if user else None


@post("/v1/user/api-keys", tags=["user"], status_code=200, opt={"access": "member"})
async def create_api_key(services: Services, user_id: str | None, data: CreateApiKeyRequest) -> CreateApiKeyResponse:
    assert user_id is not None  # AUTH_BACKEND=none always names the local user
    await count_key_creation(services.redis, user_id)
    created = await services.auth.create_key(user_id, data.name)
    view = created.view
    return CreateApiKeyResponse(
        id=view.id, user_id=view.user_id, name=view.name, created_at=view.created_at, key=created.key
    )


@get("/v1/user/api-keys", tags=["user"], opt={"access": "member"})
async def list_api_keys(services: Services, user_id: str | None) -> list[ApiKeyResponse]:
    assert user_id is not None
    return [_key(view) for view in await services.auth.keys(user_id)]


@delete("/v1/user/api-keys/{key_id:str}", tags=["user"], status_code=200, opt={"access": "member"})
async def delete_api_key(services: Services, user_id: str | None, key_id: str) -> DeletedResponse:
    assert user_id is not None
    await services.auth.delete_key(user_id, key_id)
    return DeletedResponse(status="ok")


ROUTES = [users_me, create_api_key, list_api_keys, delete_api_key]
