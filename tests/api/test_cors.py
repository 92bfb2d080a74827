"""Another origin (Reflector's own front end, a player) may call the API and seek in the audio."""

import msgspec
from httpx import ASGITransport, AsyncClient

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app


async def test_allowed_origin_reads_range_headers_and_others_are_refused(clean: Services, settings: Settings) -> None:
    server = msgspec.structs.replace(settings.server, cors_origins="https://app.example.org")
    app = create_app(msgspec.structs.replace(settings, server=server), services=clean)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://localhost") as client:
        preflight = await client.options(
            "/v1/transcripts",
            headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.org"

        listed = await client.get("/v1/transcripts", headers={"Origin": "https://app.example.org"})
        assert listed.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "content-range" in listed.headers["access-control-expose-headers"].lower()

        elsewhere = await client.get("/v1/transcripts", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in elsewhere.headers


async def test_by_default_no_other_origin_may_read(clean: Services, settings: Settings) -> None:
    assert settings.server.cors_origin_list == []
    app = create_app(settings, services=clean)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://localhost") as client:
        for origin in ("https://app.example.org", "null", "http://127.0.0.1:3000"):
            answer = await client.get("/v1/transcripts", headers={"Origin": origin})
            assert "access-control-allow-origin" not in answer.headers, origin
            assert answer.status_code == 403, origin  # without accounts another origin may not even ask
