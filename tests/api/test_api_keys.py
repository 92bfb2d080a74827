"""API keys and the caller's identity through /v1: keys are shown once, stored as hashes, and a key
that is presented and not valid is refused (401), never ignored."""

from pathlib import Path

import pytest
from httpx import AsyncClient

from reflector.bootstrap import Services
from reflector.domain.auth import repository
from reflector.settings import SettingsError, load_settings


async def test_key_lifecycle_create_list_use_revoke(api: AsyncClient) -> None:
    created = await api.post("/v1/user/api-keys", json={"name": "Nightly export"})
    assert created.status_code == 200
    body = created.json()
    assert set(body) == {"id", "user_id", "name", "created_at", "key"}
    assert body["user_id"] == "local" and body["name"] == "Nightly export"
    key = body["key"]
    assert key.startswith("rfl_") and len(key) > 40

    listed = (await api.get("/v1/user/api-keys")).json()
    assert listed == [{k: body[k] for k in ("id", "user_id", "name", "created_at")}]

    headers = {"X-API-Key": key}
    me = await api.get("/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {"sub": "local", "email": None}
    assert (await api.get("/v1/transcripts", headers=headers)).status_code == 200

    deleted = await api.delete(f"/v1/user/api-keys/{body['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"status": "ok"}
    assert (await api.get("/v1/user/api-keys")).json() == []
    for path in ("/v1/me", "/v1/transcripts"):
        revoked = await api.get(path, headers=headers)
        assert revoked.status_code == 401
        assert revoked.json() == {"detail": "Invalid API key"}


async def test_keys_are_listed_newest_first_and_a_name_is_optional(api: AsyncClient) -> None:
    first = (await api.post("/v1/user/api-keys", json={})).json()
    second = (await api.post("/v1/user/api-keys", json={"name": "CI"})).json()
    assert first["name"] is None
    assert [k["id"] for k in (await api.get("/v1/user/api-keys")).json()] == [second["id"], first["id"]]


async def test_an_empty_name_is_refused_and_creates_nothing(api: AsyncClient) -> None:
    answer = await api.post("/v1/user/api-keys", json={"name": ""})
    assert answer.status_code == 422
    assert (await api.get("/v1/user/api-keys")).json() == []


async def test_without_a_credential_the_caller_is_the_local_user(api: AsyncClient) -> None:
    assert (await api.get("/v1/me")).json() == {"sub": "local", "email": None}


async def test_an_unknown_key_is_refused_on_every_route(api: AsyncClient) -> None:
    for path in ("/v1/me", "/v1/transcripts", "/v1/user/api-keys"):
        answer = await api.get(path, headers={"X-API-Key": "rfl_not-a-key"})
        assert answer.status_code == 401, path
        assert answer.json() == {"detail": "Invalid API key"}


async def test_any_bearer_token_is_refused_while_no_login_backend_is_on(api: AsyncClient) -> None:
    for path in ("/v1/me", "/v1/transcripts"):
        answer = await api.get(path, headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"})
        assert answer.status_code == 401, path
        assert answer.json() == {"detail": "Invalid token"}


async def test_a_key_acts_as_its_owner_and_another_users_key_cannot_be_deleted(
    api: AsyncClient, clean: Services
) -> None:
    await repository.ensure_user("someone-else", name="Someone", role="user")
    theirs = await clean.auth.create_key("someone-else", "theirs")

    # As the local user, their key is indistinguishable from a missing one.
    answer = await api.delete(f"/v1/user/api-keys/{theirs.view.id}")
    assert answer.status_code == 404 and answer.json() == {"detail": "API key not found"}
    assert (await api.delete("/v1/user/api-keys/no-such-key")).status_code == 404

    as_them = {"X-API-Key": theirs.key}
    assert (await api.get("/v1/me", headers=as_them)).json() == {"sub": "someone-else", "email": None}
    assert [k["id"] for k in (await api.get("/v1/user/api-keys", headers=as_them)).json()] == [theirs.view.id]
    assert (await api.get("/v1/user/api-keys")).json() == []


async def test_only_a_hash_of_the_key_is_stored(api: AsyncClient) -> None:
    body = (await api.post("/v1/user/api-keys", json={"name": "Stored"})).json()
    row = await repository.stored_key_row(body["id"])
    assert row is not None
    assert all(body["key"] not in str(value) for value in row.values())
    assert len(row["key_hash"]) == 64


async def test_use_is_recorded_at_most_once_a_minute(api: AsyncClient, clean: Services) -> None:
    created = await clean.auth.create_key("local", "Busy")
    await api.get("/v1/me", headers={"X-API-Key": created.key})
    [first] = await clean.auth.keys("local")
    assert first.last_used_at is not None
    await api.get("/v1/me", headers={"X-API-Key": created.key})
    [second] = await clean.auth.keys("local")
    assert second.last_used_at == first.last_used_at


def test_oidc_refuses_to_start_half_configured() -> None:
    """An install that asked for logins must not run open to anyone, nor with a guessable cookie key."""
    with pytest.raises(SettingsError, match="needs OIDC_ISSUER and OIDC_CLIENT_ID"):
        load_settings({"AUTH_BACKEND": "oidc"}, dotenv=Path("/nonexistent"))
    base = {"AUTH_BACKEND": "oidc", "OIDC_ISSUER": "https://id.example.org", "OIDC_CLIENT_ID": "reflector"}
    with pytest.raises(SettingsError, match="SECRET_KEY of at least 32 characters"):
        load_settings({**base, "SECRET_KEY": "short"}, dotenv=Path("/nonexistent"))
    with pytest.raises(SettingsError, match="only public-key signatures"):
        load_settings({**base, "SECRET_KEY": "k" * 32, "OIDC_ALGORITHMS": "HS256"}, dotenv=Path("/nonexistent"))
    ready = load_settings({**base, "SECRET_KEY": "k" * 32, "PUBLIC_MODE": "true"}, dotenv=Path("/nonexistent"))
    assert ready.auth.public_mode and ready.auth.audience == "reflector" and ready.auth.algorithms == ["RS256"]


async def test_operation_ids_are_reflectors(api: AsyncClient) -> None:
    document = (await api.get("/schema/openapi.json")).json()
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values() if "operationId" in op}
    assert {"v1_users_me", "v1_create_api_key", "v1_list_api_keys", "v1_delete_api_key"} <= ids
