"""Signing in through a real OpenID Connect provider, and the tokens the API accepts and refuses."""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from reflector.bootstrap import Services
from reflector.domain.auth import repository
from reflector.domain.auth.limits import SIGN_IN
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from tests.auth.conftest import claims_of, sign_in
from tests.net import socket_outcome
from tests.oidc.process import Provider


async def test_signing_in_creates_the_user_and_a_session(oidc_app: str, oidc_services: Services, provider: Provider):
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        landed = await sign_in(browser, provider, "ada@example.org", next_path="/settings/api-keys")
        assert landed.status_code == 303 and landed.headers["location"] == "/settings/api-keys"
        cookie = landed.headers["set-cookie"].lower()
        assert "reflector_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        me = (await browser.get("/v1/me")).json()
        assert me["email"] == "ada@example.org"
        first_session = browser.cookies["reflector_session"]
        assert (await browser.get("/settings/api-keys")).status_code == 200

        # Signed in, /login just goes on to where it was asked to.
        assert (await browser.get("/login", params={"next": "/browse"})).headers["location"] == "/browse"
        # Signing in again is the same person, with a new session id.
        browser.cookies.delete("reflector_session")
        await sign_in(browser, provider, "ada@example.org")
        assert browser.cookies["reflector_session"] != first_session
        assert (await browser.get("/v1/me")).json()["sub"] == me["sub"]
    users = [u for u in await repository.all_users() if u.email == "ada@example.org"]
    assert len(users) == 1 and users[0].id == me["sub"] and users[0].role == "user" and users[0].sub


async def test_the_sign_in_request_uses_pkce_state_and_nonce(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        to_provider = await browser.get("/login")
    sent = parse_qs(urlsplit(to_provider.headers["location"]).query)
    assert sent["response_type"] == ["code"] and sent["client_id"] == [provider.client_id]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) >= 43
    assert sent["state"][0] and sent["nonce"][0] and "openid" in sent["scope"][0].split()
    assert sent["redirect_uri"] == [f"{oidc_app}/auth/callback"]


async def test_a_callback_is_good_once_and_only_in_the_browser_that_asked(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser, httpx.AsyncClient(base_url=oidc_app) as elsewhere:
        to_provider = await browser.get("/login")
        callback = provider.sign_in(to_provider.headers["location"], email="eve@example.org")
        stolen = await elsewhere.get(callback)
        assert stolen.status_code == 400 and "reflector_session" not in elsewhere.cookies
        assert "Sign in again" in stolen.text
        # The refused attempt did not spend it: the browser that started it still signs in, once.
        assert (await browser.get(callback)).status_code == 303
        browser.cookies.delete("reflector_session")
        assert (await browser.get(callback)).status_code == 400


async def test_after_sign_in_only_a_path_of_ours_is_followed(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            browser.cookies.clear()
            landed = await sign_in(browser, provider, "ada@example.org", next_path=target)
            assert landed.headers["location"] == "/", target


async def test_a_page_sends_an_anonymous_person_to_sign_in_and_back(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        asked = await browser.get("/browse", params={"q": "budget"})
        assert asked.status_code == 303
        assert asked.headers["location"] == "/login?next=%2Fbrowse%3Fq%3Dbudget"
        assert (await browser.get("/v1/transcripts")).status_code == 401
        to_provider = await browser.get(asked.headers["location"])
        back = await browser.get(provider.sign_in(to_provider.headers["location"], email="ada@example.org"))
        assert back.headers["location"] == "/browse?q=budget"
        assert (await browser.get("/browse")).status_code == 200


async def test_the_api_takes_the_providers_access_tokens_and_nothing_else(
    oidc_app: str, provider: Provider, foreign_provider: Provider
) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as api:

        async def me(token: str) -> httpx.Response:
            return await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

        good = provider.mint("bob@example.org")
        answer = await me(good)
        assert answer.status_code == 200 and answer.json()["email"] == "bob@example.org"
        created = await api.post("/v1/transcripts", json={"name": "Bob's"}, headers={"Authorization": f"Bearer {good}"})
        assert created.json()["user_id"] == answer.json()["sub"]

        header = claims_of(good)  # the payload; the header below is forged by hand
        unsigned = ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
            for part in ({"alg": "none", "typ": "JWT"}, header)
        )
        refused = {
            "expired": provider.mint("bob@example.org", lifetime=-600),
            "wrong audience": provider.mint("bob@example.org", aud="another-app"),
            "no audience": provider.mint("bob@example.org", aud=None),
            "no expiry": provider.mint("bob@example.org", exp=None),
            "another issuer": foreign_provider.mint("bob@example.org"),
            "issuer claim forged": provider.mint("bob@example.org", iss=foreign_provider.issuer),
            "key outside the JWKS": provider.mint("bob@example.org", sign_with="foreign"),
            "foreign key, our kid": provider.mint(
                "bob@example.org", sign_with="foreign", kid=provider.jwks()["keys"][0]["kid"]
            ),
            "unsigned": unsigned + ".",
            "garbage": "not-a-token",
        }
        for reason, token in refused.items():
            answer = await me(token)
            assert answer.status_code == 401, reason
            assert answer.headers["www-authenticate"] == "Bearer"


async def _tokens_of_a_sign_in(provider: Provider, email: str) -> dict[str, str]:
    """What the provider's /token hands a client of ours after a person signs in (code flow with PKCE and a
    nonce, as our own /auth/callback does): an access token and an ID token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uris[0],
        "response_type": "code",
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    back = provider.sign_in(f"{provider.issuer}/authorize?{urlencode(query)}", email=email)
    code = parse_qs(urlsplit(back).query)["code"][0]
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{provider.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": provider.redirect_uris[0],
                "code_verifier": verifier,
            },
            auth=(provider.client_id, provider.client_secret),
        )
    answer.raise_for_status()
    return answer.json()


async def test_an_id_token_is_not_an_api_credential(oidc_app: str, provider: Provider) -> None:
    tokens = await _tokens_of_a_sign_in(provider, "ida@example.org")
    # Both are signed by the provider for our client id: only what they are tells them apart.
    assert claims_of(tokens["id_token"])["aud"] == claims_of(tokens["access_token"])["aud"] == provider.client_id
    async with httpx.AsyncClient(base_url=oidc_app) as api:
        for path in ("/v1/me", "/v1/transcripts"):
            refused = await api.get(path, headers={"Authorization": f"Bearer {tokens['id_token']}"})
            assert refused.status_code == 401, path
            assert "ID token" in refused.json()["detail"]
            taken = await api.get(path, headers={"Authorization": f"Bearer {tokens['access_token']}"})
            assert taken.status_code == 200, path
    events = oidc_app.replace("http://", "ws://") + "/v1/events"
    # Offered as Reflector's clients offer a token on a socket: the subprotocols ["bearer", <token>].
    assert await socket_outcome(events, subprotocols=["bearer", tokens["id_token"]], quiet_s=0.5) == "closed 4401"
    assert await socket_outcome(events, subprotocols=["bearer", tokens["access_token"]], quiet_s=0.5) == "open"


async def test_a_token_that_says_or_shows_it_is_an_id_token_is_refused(oidc_app: str, provider: Provider) -> None:
    cases = {
        "Keycloak's ID token": ({"typ": "ID"}, 401),
        "Keycloak's access token, nonce and all": ({"typ": "Bearer", "nonce": "n"}, 200),
        # Authentik copies the sign-in's nonce into the access tokens it issues with it (Reflector's own web
        # client sends those): a nonce alone says nothing.
        "Authentik's access token, with a nonce": ({"nonce": "n"}, 200),
        "an access token's hash": ({"at_hash": "h"}, 401),
        "a code's hash": ({"c_hash": "h"}, 401),
    }
    async with httpx.AsyncClient(base_url=oidc_app) as api:
        for what, (claims, status) in cases.items():
            token = provider.mint("kim@example.org", **claims)
            answer = await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, what


def test_an_rfc_9068_access_token_is_taken_whatever_claims_it_carries() -> None:
    # Our test provider signs every header as "JWT", so this one rule is checked on the function itself.
    from reflector.domain.auth.oidc import is_id_token

    claims = {"sub": "u", "nonce": "n", "at_hash": "h"}
    assert not is_id_token({"alg": "RS256", "typ": "at+jwt"}, claims)
    assert not is_id_token({"alg": "RS256", "typ": "application/at+jwt"}, claims)
    assert is_id_token({"alg": "RS256", "typ": "JWT"}, claims)
    assert is_id_token({"alg": "RS256", "typ": "at+jwt"}, {**claims, "typ": "ID"})  # saying both: refused


async def test_a_rotated_key_is_fetched_and_a_dropped_one_refused(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as api:
        before = provider.mint("carol@example.org")
        assert (await api.get("/v1/me", headers={"Authorization": f"Bearer {before}"})).status_code == 200
        provider.rotate_keys(drop_old=True)
        after = provider.mint("carol@example.org")
        assert claims_of(after)["sub"] == claims_of(before)["sub"]
        assert (await api.get("/v1/me", headers={"Authorization": f"Bearer {after}"})).status_code == 200


async def test_signing_out_ends_the_session_here_and_at_the_provider(oidc_app: str, provider: Provider) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        await sign_in(browser, provider, "dan@example.org")
        cookie = browser.cookies["reflector_session"]
        out = await browser.post("/logout")
        assert out.status_code == 303 and out.headers["location"].startswith(f"{provider.issuer}/end_session")
        assert "post_logout_redirect_uri" in out.headers["location"]
    async with httpx.AsyncClient(base_url=oidc_app, cookies={"reflector_session": cookie}) as replay:
        assert (await replay.get("/v1/me")).json() is None
        assert (await replay.get("/settings/api-keys")).status_code == 303


async def test_a_change_started_by_another_site_is_refused(
    oidc_app: str, oidc_services: Services, provider: Provider
) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        await sign_in(browser, provider, "erin@example.org")
        mine = (await browser.post("/v1/transcripts", json={"name": "Erin's"})).json()["id"]
        page = f"/transcripts/{mine}"
        for headers in (
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
            {"Origin": "http://evil.example"},
        ):
            refused = await browser.post(page, data={"title": "Pwned"}, headers=headers)
            assert refused.status_code == 403, headers
        assert (await oidc_services.transcripts.get(mine)).title != "Pwned"
        ours = {"Sec-Fetch-Site": "same-origin", "Origin": oidc_app}
        assert (await browser.post(page, data={"title": "Renamed"}, headers=ours)).status_code == 303
        assert (await oidc_services.transcripts.get(mine)).title == "Renamed"
        # A bearer token is not something another site's page can make a browser send.
        token = provider.mint("erin@example.org")
        sent = await browser.patch(
            f"/v1/transcripts/{mine}",
            json={"title": "By script"},
            headers={"Authorization": f"Bearer {token}", "Sec-Fetch-Site": "cross-site"},
        )
        assert sent.status_code == 200


async def test_sign_ins_from_one_address_are_rate_limited(oidc_app: str) -> None:
    async with httpx.AsyncClient(base_url=oidc_app) as browser:
        answers = [(await browser.get("/login")).status_code for _ in range(SIGN_IN.allowance + 1)]
        assert answers[:-1] == [303] * SIGN_IN.allowance and answers[-1] == 429
        refused = await browser.get("/login")
    assert "Too many sign-in attempts; try again in 10 minutes" in refused.text
    assert int(refused.headers["retry-after"]) > 500


@pytest.mark.parametrize("public_mode", [False, True])
async def test_anonymous_visitors_see_public_transcripts_only_in_public_mode(
    clean: Services, settings, provider: Provider, web_port: int, public_mode: bool
) -> None:
    from reflector.web.app import create_app
    from tests.auth.conftest import oidc_settings_for, services_for, user_of
    from tests.net import serve

    oidc = oidc_settings_for(settings, provider, web_port, public_mode=public_mode)
    services = services_for(clean, oidc)
    owner = await user_of(services, provider, "fay@example.org")
    # One word each, so a title shows even with the search's matches marked up around it.
    words = {"private": "Alpha", "semi-private": "Bravo", "public": "Charlie"}
    for share, word in words.items():
        made = await services.transcripts.create(NewTranscript(name=f"{share} standup", user_id=owner.id))
        await services.transcripts.update(made.id, TranscriptChanges(title=f"Standup {word} notes", share_mode=share))
    app = create_app(oidc, services=services)
    async with serve(app, port=web_port) as url, httpx.AsyncClient(base_url=url) as anon:
        listed = await anon.get("/v1/transcripts")
        found = await anon.get("/v1/transcripts/search", params={"q": "standup"})
        browse = await anon.get("/browse", params={"q": "standup"})
        if not public_mode:
            assert (listed.status_code, found.status_code, browse.status_code) == (401, 401, 303)
        else:
            assert [t["title"] for t in listed.json()["items"]] == ["Standup Charlie notes"]
            assert [r["title"] for r in found.json()["results"]] == ["Standup Charlie notes"]
            assert "Charlie" in browse.text
            # An anonymous visitor can change nothing, so no row offers to.
            assert "Reprocess" not in browse.text
            for hidden in ("Alpha", "Bravo"):
                assert hidden not in listed.text + found.text + browse.text
    assert services.oidc is not None
    await services.oidc.close()
