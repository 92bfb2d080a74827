"""The app with AUTH_BACKEND=oidc against a real OpenID Connect provider process on loopback (tests/oidc),
and people signed in through it the way a browser does: /login, the provider's form, the callback."""

import base64
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services
from reflector.domain.auth.models import Identity, UserView
from reflector.domain.auth.oidc import OidcClient
from reflector.domain.auth.sessions import SessionStore
from reflector.settings import AuthSettings, Settings
from reflector.web.app import create_app
from tests.net import free_port, serve
from tests.oidc.process import Provider, start_provider

CLIENT_ID = "reflector-tests"


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


def _provider_for(web_port: int) -> Provider:
    return start_provider(
        client_id=CLIENT_ID,
        client_secret=secrets.token_urlsafe(16),
        redirect_uris=[f"http://127.0.0.1:{web_port}/auth/callback"],
    )


@pytest.fixture(scope="session")
def provider(web_port: int) -> Iterator[Provider]:
    with _provider_for(web_port) as started:
        yield started


@pytest.fixture(scope="session")
def foreign_provider(web_port: int) -> Iterator[Provider]:
    """Another issuer, with keys of its own: its tokens must mean nothing to us."""
    with _provider_for(web_port) as started:
        yield started


def oidc_settings_for(settings: Settings, provider: Provider, web_port: int, **auth: object) -> Settings:
    return msgspec.structs.replace(
        settings,
        server=msgspec.structs.replace(settings.server, base_url=f"http://127.0.0.1:{web_port}"),
        auth=AuthSettings(
            backend="oidc",
            secret_key=secrets.token_hex(32),
            oidc_issuer=provider.issuer,
            oidc_client_id=provider.client_id,
            oidc_client_secret=provider.client_secret,
            **auth,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def oidc_settings(settings: Settings, provider: Provider, web_port: int) -> Settings:
    return oidc_settings_for(settings, provider, web_port)


def services_for(services: Services, settings: Settings) -> Services:
    """The test's services, as a web process with these settings would have them."""
    return dataclasses.replace(
        services,
        settings=settings,
        oidc=OidcClient(settings.auth),
        sessions=SessionStore(
            services.redis, settings.auth.secret_key, timedelta(days=settings.auth.session_days), services.bus
        ),
    )


@pytest.fixture
async def oidc_services(clean: Services, oidc_settings: Settings) -> AsyncIterator[Services]:
    services = services_for(clean, oidc_settings)
    yield services
    assert services.oidc is not None
    await services.oidc.close()


@pytest.fixture
async def oidc_app(oidc_services: Services, oidc_settings: Settings, web_port: int) -> AsyncIterator[str]:
    async with serve(create_app(oidc_settings, services=oidc_services), port=web_port) as url:
        yield url


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def user_of(services: Services, provider: Provider, email: str) -> UserView:
    """The user a provider's account is here, as its first sign-in creates it."""
    claims = claims_of(provider.mint(email))
    return await services.auth.user_for_identity(
        Identity(sub=str(claims["sub"]), email=email, name=email.split("@")[0])
    )


async def sign_in(
    client: httpx.AsyncClient, provider: Provider, email: str, next_path: str = "/browse"
) -> httpx.Response:
    """Sign `client` in as a person would: our /login, the provider's form, back to our callback."""
    to_provider = await client.get("/login", params={"next": next_path})
    assert to_provider.status_code == 303, to_provider.text
    callback = provider.sign_in(to_provider.headers["location"], email=email)
    return await client.get(callback)
