"""No cache keeps a private answer: every answer but a static asset says `Cache-Control: no-store`, over
true HTTP, whatever its kind (JSON, page, recording, export, refusal, not found)."""

import httpx

from reflector.bootstrap import Services
from reflector.domain.auth import repository
from reflector.domain.transcripts.service import audio_key

RECORDING = b"ID3" + bytes(range(256)) * 40  # the player only needs bytes to range over


async def _key_of(services: Services, user_id: str) -> dict[str, str]:
    await repository.ensure_user(user_id, name=user_id.title(), role="user")
    return {"X-API-Key": (await services.auth.create_key(user_id, "test")).key}


def _assert_no_store(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, (answer.request.url, answer.status_code, answer.text)
    assert answer.headers.get("cache-control") == "no-store", (answer.request.url, answer.headers)


async def test_private_answers_of_every_kind_say_no_store(clean: Services, served: str) -> None:
    alice, bob = await _key_of(clean, "alice"), await _key_of(clean, "bob")
    async with httpx.AsyncClient(base_url=served) as http:
        created = await http.post("/v1/transcripts", json={"name": "Alice's one-on-one"}, headers=alice)
        _assert_no_store(created, 200)
        transcript_id = created.json()["id"]
        await clean.storage.put_bytes(audio_key(transcript_id), RECORDING)
        base = f"/v1/transcripts/{transcript_id}"

        _assert_no_store(await http.get(base, headers=alice), 200)
        _assert_no_store(await http.get("/v1/transcripts", headers=alice), 200)
        _assert_no_store(await http.get(f"/transcripts/{transcript_id}", headers=alice), 200)
        _assert_no_store(await http.get(f"{base}/export", params={"format": "md"}, headers=alice), 200)
        whole = await http.get(f"{base}/audio/mp3", headers=alice)
        _assert_no_store(whole, 200)
        assert whole.content == RECORDING
        # The player seeks with byte ranges; no-store leaves them working.
        part = await http.get(f"{base}/audio/mp3", headers={**alice, "Range": "bytes=100-199"})
        _assert_no_store(part, 206)
        assert part.content == RECORDING[100:200]

        _assert_no_store(await http.get(base, headers=bob), 403)
        _assert_no_store(await http.get(f"{base}/audio/mp3", headers=bob), 403)
        _assert_no_store(await http.get(base, headers={"X-API-Key": "not-a-key"}), 401)
        _assert_no_store(await http.get("/v1/transcripts/no-such-id", headers=alice), 404)
        _assert_no_store(await http.get("/transcripts/no-such-id", headers=alice), 404)
        _assert_no_store(await http.get("/no/such/page"), 404)


async def test_static_files_may_be_cached(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        answer = await http.get("/static/app.css")
    assert answer.status_code == 200
    assert "no-store" not in answer.headers.get("cache-control", "")
