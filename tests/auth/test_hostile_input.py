"""Input PostgreSQL cannot take is answered as the caller's mistake, never as our 500: a page or offset
past any listing is a 422, a NUL in an id finds nothing (404, or 4404 on a socket) for anyone, and a NUL
anywhere else a request carries text is refused with a sentence saying what to remove."""

from collections.abc import AsyncIterator

import httpx
import pytest

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import ParticipantNotFound, TranscriptNotFound
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.auth.hostile import Owner, owner_of
from tests.net import serve, socket_outcome
from tests.oidc.process import Provider

HUGE = str(10**20)  # past PostgreSQL's bigint


@pytest.fixture
async def owner(oidc_services: Services, provider: Provider) -> Owner:
    return await owner_of(oidc_services, provider)


@pytest.fixture
async def app_url(oidc_services: Services, oidc_settings: Settings, web_port: int) -> AsyncIterator[str]:
    async with serve(create_app(oidc_settings, services=oidc_services), port=web_port) as url:
        yield url


@pytest.fixture
async def http(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        yield client


async def test_a_page_or_offset_past_any_listing_is_a_422(http: httpx.AsyncClient, owner: Owner) -> None:
    for path, params in [
        ("/v1/transcripts", {"page": HUGE}),
        ("/v1/transcripts", {"change_seq_from": HUGE}),
        ("/v1/transcripts/search", {"q": "budget", "offset": HUGE}),
        ("/v1/transcripts/search", {"q": "budget", "limit": HUGE}),
    ]:
        response = await http.get(path, params=params, headers=owner.api)
        assert response.status_code == 422, (path, params, response.text)
    deepest = await http.get("/v1/transcripts", params={"page": 100_000, "size": 100}, headers=owner.api)
    assert deepest.status_code == 200 and deepest.json()["items"] == []


async def test_browse_shows_its_deepest_page_for_a_page_number_past_it(http: httpx.AsyncClient, owner: Owner) -> None:
    for page in (HUGE, "9" * 5000, "-3", "two"):
        response = await http.get("/browse", params={"page": page}, headers=owner.page)
        assert response.status_code == 200, (page[:20], response.text[:300])


async def test_a_nul_in_an_id_finds_nothing_for_anyone(http: httpx.AsyncClient, owner: Owner) -> None:
    tid = owner.transcript_id
    requests = [
        ("GET", "/v1/transcripts/%00"),
        ("GET", "/v1/transcripts/abc%00def/topics"),
        ("PATCH", "/v1/transcripts/%00"),
        ("DELETE", "/v1/transcripts/%00"),
        ("GET", f"/v1/transcripts/{tid}/participants/%00"),
        ("DELETE", f"/v1/transcripts/{tid}/participants/%00"),
        ("GET", f"/v1/transcripts/{tid}/topics/%00/words-per-speaker"),
        ("DELETE", "/v1/user/api-keys/%00"),
        ("GET", "/transcripts/%00"),
        ("GET", "/transcripts/%00/correct"),
        ("POST", "/browse/%00/delete"),
        ("POST", "/settings/api-keys/%00/revoke"),
        ("GET", "/static/%00"),
    ]
    for who, api, page in (("anonymous", {}, {}), ("owner", owner.api, owner.page)):
        for method, path in requests:
            response = await http.request(method, path, headers=api if path.startswith("/v1") else page)
            assert response.status_code == 404, (who, method, path, response.status_code, response.text[:200])


async def test_a_socket_for_a_nul_id_closes_as_not_found(app_url: str, owner: Owner) -> None:
    url = app_url.replace("http://", "ws://") + "/v1/transcripts/%00/events"
    assert await socket_outcome(url) == "closed 4404"
    assert await socket_outcome(url, headers=owner.api) == "closed 4404"
    with_query = app_url.replace("http://", "ws://") + f"/v1/transcripts/{owner.transcript_id}/events?partials=%00"
    assert await socket_outcome(with_query, headers=owner.api) == "closed 4400"


async def test_malformed_ids_are_missing_rows_without_a_query(oidc_services: Services, owner: Owner) -> None:
    for malformed in ("\x00", "a" * 10_240, "../etc/passwd", "été", ""):
        with pytest.raises(TranscriptNotFound):
            await oidc_services.transcripts.get(malformed)
        with pytest.raises(ParticipantNotFound):
            await oidc_services.editor.participant(owner.transcript_id, malformed)


async def test_a_nul_in_a_body_or_query_string_is_refused_with_a_sentence(
    http: httpx.AsyncClient, owner: Owner
) -> None:
    tid = owner.transcript_id
    api = [
        ("PATCH", f"/v1/transcripts/{tid}", {"json": {"title": "Budget\u0000"}}),
        ("PATCH", f"/v1/transcripts/{tid}", {"json": {"participants": [{"name": "A\u0000", "speaker": 1}]}}),
        ("POST", f"/v1/transcripts/{tid}/participants", {"json": {"name": "\u0000"}}),
        ("PATCH", f"/v1/transcripts/{tid}/participants/{owner.participant_id}", {"json": {"name": "Ana\u0000"}}),
        ("POST", "/v1/transcripts", {"json": {"name": "New\u0000"}}),
        ("POST", "/v1/user/api-keys", {"json": {"name": "\u0000"}}),
        ("GET", "/v1/transcripts/search", {"params": {"q": "budget\u0000"}}),
        ("GET", "/v1/transcripts", {"params": {"search_term": "\u0000"}}),
        ("GET", "/v1/transcripts", {"params": {"room_id": "\u0000"}}),
    ]
    for method, path, kwargs in api:
        response = await http.request(method, path, headers=owner.api, **kwargs)
        assert response.status_code == 422, (method, path, kwargs, response.text)
        assert "NUL" in response.text, response.text
    pages = [
        ("POST", f"/transcripts/{tid}", {"data": {"title": "Budget\u0000"}}),
        ("POST", f"/transcripts/{tid}/correct/rename", {"data": {"topic": "1", "speaker": "0", "name": "\u0000"}}),
        ("POST", "/transcripts/live", {"data": {"name": "\u0000"}}),
        ("POST", "/settings/api-keys", {"data": {"name": "\u0000"}}),
        ("GET", "/browse", {"params": {"q": "\u0000"}}),
    ]
    for method, path, kwargs in pages:
        response = await http.request(method, path, headers=owner.page, **kwargs)
        assert response.status_code == 400, (method, path, kwargs, response.text[:300])
        assert "NUL" in response.text
    # A multipart form carries a recording, so it is read by its page, which says the same.
    recording = {"file": ("sync.wav", b"RIFF", "audio/wav")}
    upload = await http.post("/transcripts/new", data={"name": "\u0000"}, files=recording, headers=owner.page)
    assert upload.status_code == 400 and "NUL" in upload.text
    transcript = (await http.get(f"/v1/transcripts/{tid}", headers=owner.api)).json()
    assert transcript["title"] == "" and [p["name"] for p in transcript["participants"]] == ["Ana"]


async def test_a_name_or_speaker_past_what_is_stored_is_refused_with_a_sentence(
    http: httpx.AsyncClient, owner: Owner
) -> None:
    tid = owner.transcript_id
    long_name = "n" * 256
    for method, path, body in [
        ("POST", "/v1/transcripts", {"name": long_name}),
        ("POST", f"/v1/transcripts/{tid}/participants", {"name": long_name}),
        ("POST", f"/v1/transcripts/{tid}/participants", {"name": "Bo", "speaker": 2**31}),
        ("PATCH", f"/v1/transcripts/{tid}/speaker/merge", {"speaker_from": 0, "speaker_to": 10**20}),
    ]:
        response = await http.request(method, path, json=body, headers=owner.api)
        assert response.status_code == 422, (method, path, response.text)
    rename = {"topic": "1", "speaker": "0", "name": long_name}
    response = await http.post(f"/transcripts/{tid}/correct/rename", data=rename, headers=owner.page)
    assert response.status_code == 400 and "at most 255 characters" in response.text
    live = await http.post("/transcripts/live", data={"name": long_name}, headers=owner.page)
    assert live.status_code == 400 and "at most 255 characters" in live.text
