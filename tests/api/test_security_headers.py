"""Security headers on every kind of answer (page, /v1 JSON, static file, Swagger UI), and the limit on
how many API keys a person may create in an hour."""

import re

from httpx import AsyncClient, Response

from reflector.bootstrap import Services
from reflector.domain.auth import repository
from reflector.domain.auth.limits import API_KEY_CREATION


def _policy(answer: Response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in answer.headers["content-security-policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def _assert_common(answer: Response) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert _policy(answer)["frame-ancestors"] == "'none'"


def _assert_strict(answer: Response) -> None:
    _assert_common(answer)
    policy = _policy(answer)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in answer.headers["content-security-policy"]


async def test_a_page_gets_the_strict_policy(api: AsyncClient) -> None:
    answer = await api.get("/browse")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    _assert_strict(answer)


async def test_json_errors_and_not_found_pages_carry_the_headers(api: AsyncClient) -> None:
    listed = await api.get("/v1/transcripts")
    assert listed.status_code == 200
    _assert_strict(listed)
    missing = await api.get("/v1/transcripts/no-such-id")
    assert missing.status_code == 404 and missing.json()["detail"]
    _assert_strict(missing)
    _assert_strict(await api.get("/no/such/page"))


async def test_static_files_carry_the_headers(api: AsyncClient) -> None:
    answer = await api.get("/static/app.css")
    assert answer.status_code == 200
    _assert_strict(answer)


async def test_swagger_ui_may_load_its_cdn_assets(api: AsyncClient) -> None:
    for path in ("/schema", "/schema/swagger", "/schema/openapi.json"):
        answer = await api.get(path)
        assert answer.status_code == 200, path
        _assert_common(answer)
        assert _policy(answer) == {"frame-ancestors": "'none'"}, path


async def test_key_creation_is_limited_per_user_per_hour(api: AsyncClient, clean: Services) -> None:
    for n in range(API_KEY_CREATION.allowance):
        assert (await api.post("/v1/user/api-keys", json={"name": f"key {n}"})).status_code == 200

    refused = await api.post("/v1/user/api-keys", json={"name": "one too many"})
    assert refused.status_code == 429
    assert re.fullmatch(r"Too many API keys created; try again in \d+ minutes?", refused.json()["detail"])
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= API_KEY_CREATION.window.total_seconds()
    minutes = int(refused.json()["detail"].split(" in ")[1].split()[0])
    assert minutes == -(-retry_after // 60)
    assert len((await api.get("/v1/user/api-keys")).json()) == API_KEY_CREATION.allowance

    # Another person's allowance is their own: a key they already hold still works, and they may create more.
    await repository.ensure_user("someone-else", name="Someone else", role="user")
    theirs = await clean.auth.create_key("someone-else", "seeded")
    as_them = {"X-API-Key": theirs.key}
    created = await api.post("/v1/user/api-keys", json={"name": "theirs"}, headers=as_them)
    assert created.status_code == 200 and created.json()["user_id"] == "someone-else"


async def test_the_settings_page_says_when_the_limit_is_reached(api: AsyncClient) -> None:
    for n in range(API_KEY_CREATION.allowance):
        assert (await api.post("/settings/api-keys", data={"name": f"key {n}"})).status_code in (200, 201)
    refused = await api.post("/settings/api-keys", data={"name": "one too many"}, headers={"HX-Request": "true"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many API keys created; try again in 60 minutes" in refused.text
    assert "one too many" in refused.text  # the typed name is kept
    assert len((await api.get("/v1/user/api-keys")).json()) == API_KEY_CREATION.allowance
