"""An open WebSocket keeps only the access its caller still has: each way access is withdrawn (share mode
narrowed, sign-out, key deleted, admin demoted, transcript deleted, session expired) closes the sockets it
concerns within a second, with Reflector's codes, and leaves the others open.

Everything goes through the real app served on loopback, signed in through the real OIDC provider; the
revocations are made the way people make them (API calls, the sign-out form, the users page).
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.transcripts import repository
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.settings import Settings
from reflector.web.api import events
from reflector.web.app import create_app
from tests.auth.conftest import oidc_settings_for, services_for, user_of
from tests.net import serve
from tests.oidc.process import Provider

CLOSE_WITHIN_S = 1.0


@dataclass
class Party:
    services: Services
    provider: Provider
    base: str
    http: httpx.AsyncClient

    async def transcript(self, owner_id: str, share: str) -> str:
        view = await self.services.transcripts.create(NewTranscript(name="Board meeting", user_id=owner_id))
        await self.services.transcripts.update(view.id, TranscriptChanges(share_mode=share))
        await self.services.transcripts.emit(view.id, parse("STATUS", {"value": "ended"}), owner=owner_id)
        return view.id

    async def session(self, user_id: str) -> str:
        assert self.services.sessions is not None
        return await self.services.sessions.start(user_id)


@asynccontextmanager
async def opened(
    base: str, path: str, *, headers: dict[str, str] | None = None, token: str | None = None
) -> AsyncIterator[ClientConnection]:
    url = base.replace("http://", "ws://") + path
    subprotocols = ["bearer", token] if token else None
    async with connect(url, additional_headers=headers or {}, subprotocols=subprotocols) as ws:  # type: ignore[arg-type]
        if "/transcripts/" in path:
            await asyncio.wait_for(ws.recv(), 5)  # the replayed log: the socket is open and serving
        yield ws


async def closes_after(ws: ClientConnection, revoke: Callable[[], Awaitable[object]]) -> tuple[int, float]:
    """Withdraw access; the code the socket is closed with and how long that took."""
    started = time.monotonic()
    await revoke()
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else 1006), time.monotonic() - started
    except TimeoutError:
        return 0, time.monotonic() - started


async def still_open(ws: ClientConnection) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), 0.5)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False
    return True


@pytest.fixture
async def party(clean: Services, settings: Settings, provider: Provider, web_port: int) -> AsyncIterator[Party]:
    oidc = oidc_settings_for(settings, provider, web_port)
    services = services_for(clean, oidc)
    async with (
        serve(create_app(oidc, services=services), port=web_port) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        yield Party(services, provider, base, http)
    assert services.oidc is not None
    await services.oidc.close()


async def test_narrowing_the_share_mode_closes_the_sockets_it_shuts_out(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    other = party.provider.mint("other@example.org")
    key = (await party.services.auth.create_key(owner.id, "script")).key
    public = await party.transcript(owner.id, "public")
    semi = await party.transcript(owner.id, "semi-private")

    async def narrow(tid: str, share: str) -> None:
        answer = await party.http.patch(
            f"/v1/transcripts/{tid}", json={"share_mode": share}, headers={"X-API-Key": key}
        )
        assert answer.status_code == 200, answer.text

    async with (
        opened(party.base, f"/v1/transcripts/{public}/events") as anonymous,
        opened(party.base, f"/v1/transcripts/{public}/events", token=other) as signed_in,
    ):
        code, took = await closes_after(anonymous, lambda: narrow(public, "semi-private"))
        assert (code, took < CLOSE_WITHIN_S) == (4401, True), (code, took)
        assert await still_open(signed_in), "semi-private still lets a signed-in user read"
    async with (
        opened(party.base, f"/v1/transcripts/{semi}/events", token=other) as other_user,
        opened(party.base, f"/v1/transcripts/{semi}/events", headers={"X-API-Key": key}) as owner_socket,
    ):
        code, took = await closes_after(other_user, lambda: narrow(semi, "private"))
        assert (code, took < CLOSE_WITHIN_S) == (4403, True), (code, took)
        assert await still_open(owner_socket), "the owner keeps their own socket"


async def test_signing_out_closes_the_sockets_that_session_opened(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    tid = await party.transcript(owner.id, "private")
    cookie, other_cookie = await party.session(owner.id), await party.session(owner.id)

    async def sign_out() -> None:
        answer = await party.http.post("/logout", cookies={"reflector_session": cookie})
        assert answer.status_code in (200, 303), answer.text

    async with (
        opened(party.base, f"/v1/transcripts/{tid}/events", headers={"Cookie": f"reflector_session={cookie}"}) as ws,
        opened(party.base, "/v1/events", headers={"Cookie": f"reflector_session={cookie}"}) as user_ws,
        opened(party.base, "/v1/events", headers={"Cookie": f"reflector_session={other_cookie}"}) as elsewhere,
    ):
        code, took = await closes_after(ws, sign_out)
        assert (code, took < CLOSE_WITHIN_S) == (4401, True), (code, took)
        code, took = await closes_after(user_ws, lambda: asyncio.sleep(0))
        assert code == 4401, code
        assert await still_open(elsewhere), "a session in another browser is not signed out"


async def test_deleting_a_key_closes_the_sockets_it_opened(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    tid = await party.transcript(owner.id, "private")
    created = await party.services.auth.create_key(owner.id, "laptop")
    kept = (await party.services.auth.create_key(owner.id, "server")).key
    token = party.provider.mint("owner@example.org")

    async def delete_key() -> None:
        answer = await party.http.delete(
            f"/v1/user/api-keys/{created.view.id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text

    async with (
        opened(party.base, f"/v1/transcripts/{tid}/events", headers={"X-API-Key": created.key}) as ws,
        opened(party.base, "/v1/events", headers={"X-API-Key": created.key}) as user_ws,
        opened(party.base, "/v1/events", headers={"X-API-Key": kept}) as other_key,
    ):
        code, took = await closes_after(ws, delete_key)
        assert (code, took < CLOSE_WITHIN_S) == (4401, True), (code, took)
        code, _ = await closes_after(user_ws, lambda: asyncio.sleep(0))
        assert code == 4401, code
        assert await still_open(other_key)


async def test_demoting_an_admin_closes_its_sockets_on_other_peoples_transcripts(party: Party) -> None:
    services = party.services
    owner = await user_of(services, party.provider, "owner@example.org")
    admin = await user_of(services, party.provider, "admin@example.org")
    chief = await user_of(services, party.provider, "chief@example.org")
    for person in (admin, chief):
        await services.auth.set_role(person.id, "admin", by="test")
    tid = await party.transcript(owner.id, "private")
    chief_session = await party.session(chief.id)

    async def demote() -> None:
        answer = await party.http.post(
            f"/settings/users/{admin.id}/role", data={"role": "user"}, cookies={"reflector_session": chief_session}
        )
        assert answer.status_code in (200, 303), answer.text
        assert (await services.auth.user(admin.id)).role == "user"  # type: ignore[union-attr]

    token = party.provider.mint("admin@example.org")
    async with opened(party.base, f"/v1/transcripts/{tid}/events", token=token) as ws:
        code, took = await closes_after(ws, demote)
        assert (code, took < CLOSE_WITHIN_S) == (4403, True), (code, took)


async def test_deleting_a_transcript_closes_its_sockets(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    key = (await party.services.auth.create_key(owner.id, "script")).key
    tid = await party.transcript(owner.id, "public")

    async def delete() -> None:
        answer = await party.http.delete(f"/v1/transcripts/{tid}", headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text

    async with opened(party.base, f"/v1/transcripts/{tid}/events") as ws:
        code, took = await closes_after(ws, delete)
        assert (code, took < CLOSE_WITHIN_S) == (4404, True), (code, took)


async def test_a_socket_ends_when_its_session_does(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    tid = await party.transcript(owner.id, "private")
    cookie = await party.session(owner.id)
    session_key = f"reflector:session:{cookie.rsplit('.', 1)[0]}"
    await party.services.redis.pexpire(session_key, 1500)
    async with opened(
        party.base, f"/v1/transcripts/{tid}/events", headers={"Cookie": f"reflector_session={cookie}"}
    ) as ws:
        code, took = await closes_after(ws, lambda: asyncio.sleep(0))
        assert code == 4401, code
        assert 0.8 < took < 1.5 + CLOSE_WITHIN_S, took


async def test_a_change_nobody_announced_is_caught_by_the_periodic_check(
    party: Party, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Announcements go over Redis pub/sub and can be lost (Redis restarting): sockets also check again
    on their own every RECHECK_S."""
    monkeypatch.setattr(events, "RECHECK_S", 0.5)
    owner = await user_of(party.services, party.provider, "owner@example.org")
    tid = await party.transcript(owner.id, "public")
    async with opened(party.base, f"/v1/transcripts/{tid}/events") as ws:
        code, took = await closes_after(ws, lambda: repository.update(tid, {"share_mode": "private"}))
        assert (code, took < 0.5 + CLOSE_WITHIN_S) == (4401, True), (code, took)


async def test_a_socket_ends_when_its_token_does(party: Party) -> None:
    owner = await user_of(party.services, party.provider, "owner@example.org")
    tid = await party.transcript(owner.id, "private")
    # Tokens are checked with a minute's leeway for clocks that differ; the socket ends at `exp` itself.
    token = party.provider.mint("owner@example.org", lifetime=2)
    async with opened(party.base, f"/v1/transcripts/{tid}/events", token=token) as ws:
        code, took = await closes_after(ws, lambda: asyncio.sleep(0))
        assert code == 4401, code
        assert took < 2 + CLOSE_WITHIN_S, took
