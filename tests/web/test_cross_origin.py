"""Without accounts (AUTH_BACKEND=none, the default) every caller is the owner of everything, so another web
site the person visits must not be able to use that: a page of a second origin, served by this test and
opened in Chromium, tries what the independent probe did (read the list with fetch, delete with fetch and
with a plain form, open the event socket) and gets nothing; a foreign Host (DNS rebinding) is refused; an
origin named in CORS_ORIGIN (a Reflector client served elsewhere) may read.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, MediaType, get
from playwright.async_api import Browser

from reflector.bootstrap import Services
from reflector.domain.auth.models import LOCAL_USER_ID
from reflector.domain.transcripts.models import NewTranscript
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.auth.test_matrix import app_routes, filled, path_values, seed
from tests.net import free_port, serve, socket_outcome

ATTACK = """<!doctype html><html><body><iframe name="sink"></iframe><script>
const target = TARGET;
async function attempt() {
  const out = {};
  try {
    const answer = await fetch(target + "/v1/transcripts");
    out.read = "status " + answer.status + ": " + (await answer.text()).slice(0, 300);
  } catch (e) { out.read = "blocked"; }
  try {
    const answer = await fetch(target + "/v1/transcripts/" + VICTIM, {method: "DELETE"});
    out.fetch_delete = "status " + answer.status;
  } catch (e) { out.fetch_delete = "blocked"; }
  try {
    // A "simple" request goes out without a preflight, whatever CORS says: only the server can refuse it.
    await fetch(target + "/v1/transcripts", {method: "POST", mode: "no-cors", body: '{"name": "planted"}'});
    out.plant = "sent";
  } catch (e) { out.plant = "blocked"; }
  out.socket = await new Promise((done) => {
    const ws = new WebSocket(target.replace("http", "ws") + "/v1/events");
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onclose = (e) => done((opened ? "opened then closed " : "closed ") + e.code);
    setTimeout(() => done(opened ? "open" : "pending"), 4000);
  });
  const form = document.createElement("form");
  form.method = "POST"; form.action = target + "/transcripts/" + FORM_VICTIM + "/delete"; form.target = "sink";
  document.body.appendChild(form);
  const loaded = new Promise((done) => { document.querySelector("iframe").onload = done; });
  form.submit();
  await Promise.race([loaded, new Promise((done) => setTimeout(done, 4000))]);
  out.form = "submitted";
  return out;
}
</script></body></html>"""


def attacker_site(target: str, victim: str, form_victim: str) -> Litestar:
    page = ATTACK.replace("FORM_VICTIM", json.dumps(form_victim)).replace("VICTIM", json.dumps(victim))
    page = page.replace("TARGET", json.dumps(target))

    @get("/", media_type=MediaType.HTML)
    async def index() -> str:
        return page

    return Litestar([index])


async def _transcripts(services: Services) -> tuple[str, str]:
    made = [await services.transcripts.create(NewTranscript(name=f"Private plan {i}")) for i in range(2)]
    return made[0].id, made[1].id


async def _attack(browser: Browser, attacker: str) -> dict[str, Any]:
    context = await browser.new_context()
    try:
        tab = await context.new_page()
        await tab.goto(attacker)
        return await tab.evaluate("attempt()")
    finally:
        await context.close()


@pytest.fixture
async def target(clean: Services, settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(settings, services=clean)) as url:
        yield url


async def test_another_sites_page_can_neither_read_nor_change_anything(
    clean: Services, target: str, browser: Browser
) -> None:
    victim, form_victim = await _transcripts(clean)
    # localhost and 127.0.0.1 are different sites to the browser, as an attacker's domain would be.
    async with serve(attacker_site(target, victim, form_victim)) as attacker:
        attacker = attacker.replace("127.0.0.1", "localhost")
        seen = await _attack(browser, attacker)
    assert seen["read"] == "blocked", seen
    assert seen["socket"].startswith("closed 4403") or seen["socket"] == "opened then closed 4403", seen
    for tid in (victim, form_victim):
        assert (await clean.transcripts.get(tid)).name.startswith("Private plan"), f"{tid} was deleted: {seen}"
    assert [t.name for t in await clean.transcripts.list_recent()].count("planted") == 0, seen

    # Our own page, same origin, still works.
    async with httpx.AsyncClient(base_url=target) as own:
        answer = await own.get("/v1/transcripts", headers={"Sec-Fetch-Site": "same-origin", "Origin": target})
        assert answer.status_code == 200 and "Private plan" in answer.text
        # A link to us followed from another site shows the person the page (a top-level navigation).
        followed = await own.get(
            "/browse",
            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
        )
        assert followed.status_code == 200


async def test_a_client_origin_named_in_cors_origin_may_read(
    clean: Services, settings: Settings, browser: Browser
) -> None:
    victim, form_victim = await _transcripts(clean)
    port = free_port()
    client_origin = f"http://localhost:{port}"
    trusting = msgspec.structs.replace(
        settings, server=msgspec.structs.replace(settings.server, cors_origins=client_origin)
    )
    async with serve(create_app(trusting, services=clean)) as target:
        client = attacker_site(target, victim, form_victim)
        async with serve(client, port=port):
            seen = await _attack(browser, client_origin)
    assert seen["read"].startswith("status 200") and "Private plan" in seen["read"], seen


async def test_a_foreign_host_name_is_refused_against_dns_rebinding(clean: Services, target: str) -> None:
    async with httpx.AsyncClient(base_url=target) as client:
        rebound = await client.get("/v1/transcripts", headers={"Host": "attacker.example:1250"})
        assert rebound.status_code == 400
        for host in ("127.0.0.1", "localhost"):
            assert (await client.get("/health", headers={"Host": f"{host}:1250"})).status_code == 200


async def test_without_accounts_every_route_refuses_another_sites_requests(clean: Services, settings: Settings) -> None:
    """Every route (API, pages, static files, sockets) × what another site's page can send: all refused."""
    app = create_app(settings, services=clean)
    seeded = await seed(clean, LOCAL_USER_ID, "private")
    key_id = (await clean.auth.create_key(LOCAL_USER_ID, "kept")).view.id
    values = path_values(seeded, key_id, LOCAL_USER_ID)
    wrong: list[str] = []
    checked = 0
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        for method, template in sorted(app_routes(app)):
            path = filled(template, values)
            for label, headers in ATTEMPTS.items():
                checked += 1
                if method == "WS":
                    origin = headers.get("Origin", "http://attacker.example")
                    got = await socket_outcome(base.replace("http://", "ws://") + path, origin=origin, quiet_s=3)
                    if got != "closed 4403":
                        wrong.append(f"WS {template} ({label}): {got}")
                    continue
                answer = await client.request(method, path, headers=headers)
                if answer.status_code != 403:
                    wrong.append(f"{method} {template} ({label}): {answer.status_code}")
    print(f"\ncross-site requests without accounts: {checked}, {len(wrong)} not refused")
    assert not wrong, "\n".join(wrong)
    assert (await clean.transcripts.get(seeded.transcript_id)).id == seeded.transcript_id


ATTEMPTS = {
    "fetch": {"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
    "embed": {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
    "sibling site": {"Origin": "http://localhost:9", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
}
