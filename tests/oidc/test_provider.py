"""The test OpenID Connect provider speaks the protocol: checked over HTTP with httpx and `cryptography` alone."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.oidc.process import LoginForm, Provider, start_provider

CLIENT_ID = "reflector-test"
# A space and a plus: RFC 6749 clients form-encode Basic credentials, httpx and authlib send them raw.
CLIENT_SECRET = "correct horse+battery staple"
CALLBACK = "http://127.0.0.1:9/auth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    # An issuer with a path, as Keycloak and Authentik have, so nothing assumes endpoints at the root.
    with start_provider(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[CALLBACK], issuer_path="/realms/test"
    ) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(provider: Provider, **params: str) -> str:
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge_method": "S256",
        **params,
    }
    return f"{provider.issuer}/authorize?{urlencode(query)}"


def sign_in(provider: Provider, *, email: str = "ada@example.org", name: str = "") -> tuple[str, str, str]:
    """A code from a completed login, with its verifier and the state the callback received."""
    verifier, challenge = pkce()
    callback = urlsplit(provider.sign_in(authorize_url(provider, code_challenge=challenge), email=email, name=name))
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == CALLBACK
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    return query["code"], verifier, query["state"]


def redeem(
    http: httpx.Client,
    provider: Provider,
    code: str,
    verifier: str,
    *,
    auth: tuple[str, str] | None = (CLIENT_ID, CLIENT_SECRET),
    headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    return http.post(f"{provider.issuer}/token", data={**form, **fields}, auth=auth, headers=headers)


def verified_claims(http: httpx.Client, provider: Provider, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of `token`, after checking its RS256 signature against the published key it names."""
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(b64url_decode(header_part))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    keys = {key["kid"]: key for key in http.get(f"{provider.issuer}/jwks").json()["keys"]}
    jwk = keys[header["kid"]]
    public_key = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
    ).public_key()
    message = f"{header_part}.{payload_part}".encode()
    public_key.verify(b64url_decode(signature_part), message, padding.PKCS1v15(), hashes.SHA256())
    return header, json.loads(b64url_decode(payload_part))


def kid_of(token: str) -> str:
    return json.loads(b64url_decode(token.split(".")[0]))["kid"]


def test_discovery_document_points_under_the_issuer(provider: Provider, http: httpx.Client) -> None:
    document = http.get(provider.discovery_url).json()

    assert document["issuer"] == provider.issuer
    for endpoint in ("authorization", "token", "userinfo", "end_session"):
        assert document[f"{endpoint}_endpoint"].startswith(provider.issuer + "/")
    assert http.get(document["jwks_uri"]).json()["keys"]
    assert document["response_types_supported"] == ["code"]
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in document["scopes_supported"]
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["grant_types_supported"] == ["authorization_code"]


def test_login_page_asks_for_email_and_name(provider: Provider, http: httpx.Client) -> None:
    page = http.get(authorize_url(provider, code_challenge=pkce()[1]))

    assert page.status_code == 200
    assert '<input name="email" id="email"' in page.text and '<label for="email">Email</label>' in page.text
    assert '<input name="name" id="name"' in page.text and '<label for="name">Name</label>' in page.text
    assert ">Sign in</button>" in page.text
    assert LoginForm.parse(page.text).fields["client_id"] == CLIENT_ID


def test_code_flow_with_pkce_gives_tokens_that_verify_against_the_jwks(provider: Provider, http: httpx.Client) -> None:
    verifier, challenge = pkce()
    url = authorize_url(provider, code_challenge=challenge, state="st-123", nonce="n-456")
    callback = parse_qs(urlsplit(provider.sign_in(url, email="Ada@Example.org", name="Ada Lovelace")).query)

    assert callback["state"] == ["st-123"]
    response = redeem(http, provider, callback["code"][0], verifier)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    _, claims = verified_claims(http, provider, tokens["id_token"])
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == claims["azp"] == CLIENT_ID
    assert claims["nonce"] == "n-456"
    assert claims["email"] == "ada@example.org" and claims["email_verified"] is True
    assert claims["name"] == "Ada Lovelace"
    assert claims["sub"] == "u-" + hashlib.sha256(b"ada@example.org").hexdigest()[:16]
    assert claims["iat"] <= time.time() < claims["exp"] and claims["auth_time"] <= claims["iat"]
    _, access = verified_claims(http, provider, tokens["access_token"])
    assert access["sub"] == claims["sub"] and access["scope"] == tokens["scope"] == "openid email profile"
    userinfo = http.get(f"{provider.issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.json() == {"sub": claims["sub"], "email": "ada@example.org", "name": "Ada Lovelace"}


def test_the_same_email_keeps_its_sub_and_a_name_defaults_to_the_local_part(
    provider: Provider, http: httpx.Client
) -> None:
    first, second = (sign_in(provider, email="grace@example.org") for _ in range(2))

    subs = set()
    for code, verifier, _ in (first, second):
        _, claims = verified_claims(http, provider, redeem(http, provider, code, verifier).json()["id_token"])
        subs.add(claims["sub"])
        assert claims["name"] == "grace"
    assert len(subs) == 1


def test_a_code_works_once(provider: Provider, http: httpx.Client) -> None:
    code, verifier, _ = sign_in(provider)

    assert redeem(http, provider, code, verifier).status_code == 200
    again = redeem(http, provider, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_wrong_verifier_is_an_invalid_grant(provider: Provider, http: httpx.Client) -> None:
    code, _, _ = sign_in(provider)

    response = redeem(http, provider, code, pkce()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_an_invalid_client(provider: Provider, http: httpx.Client) -> None:
    code, verifier, _ = sign_in(provider)

    response = redeem(http, provider, code, verifier, auth=(CLIENT_ID, "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # Client authentication comes before the code, so the failed attempt did not spend it.
    posted = redeem(http, provider, code, verifier, auth=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert posted.status_code == 200, posted.text


def test_basic_credentials_may_come_form_encoded_as_rfc_6749_says(provider: Provider, http: httpx.Client) -> None:
    code, verifier, _ = sign_in(provider)
    encoded = base64.b64encode(f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()).decode()

    response = redeem(http, provider, code, verifier, auth=None, headers={"Authorization": f"Basic {encoded}"})
    assert response.status_code == 200, response.text


def test_a_public_client_redeems_with_its_client_id_and_pkce_alone() -> None:
    with start_provider(client_id="public-app", client_secret="", redirect_uris=[CALLBACK]) as public:
        verifier, challenge = pkce()
        url = authorize_url(public, client_id="public-app", code_challenge=challenge)
        code = parse_qs(urlsplit(public.sign_in(url, email="ada@example.org")).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": "public-app"}

        response = httpx.post(f"{public.issuer}/token", data={**form, "code_verifier": verifier})
        assert response.status_code == 200, response.text
        assert "none" in httpx.get(public.discovery_url).json()["token_endpoint_auth_methods_supported"]


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(provider: Provider, http: httpx.Client) -> None:
    response = http.get(authorize_url(provider, code_challenge=pkce()[1], redirect_uri="http://evil.example/cb"))

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_request_without_pkce_is_sent_back_with_an_error(provider: Provider, http: httpx.Client) -> None:
    response = http.get(authorize_url(provider, state="s-1"))

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["s-1"]


def test_a_minted_token_can_be_expired_and_userinfo_refuses_it(provider: Provider, http: httpx.Client) -> None:
    token = provider.mint("ada@example.org", lifetime=-60, aud="another-client")

    _, claims = verified_claims(http, provider, token)
    assert claims["exp"] < time.time() and claims["aud"] == "another-client"
    userinfo = http.get(f"{provider.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert userinfo.status_code == 401


def test_a_foreign_signature_names_a_key_the_jwks_does_not_have(provider: Provider, http: httpx.Client) -> None:
    token = provider.mint("ada@example.org", sign_with="foreign")

    published = {key["kid"] for key in provider.jwks()["keys"]}
    assert kid_of(token) not in published and len(kid_of(token)) == len(next(iter(published)))
    userinfo = http.get(f"{provider.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert userinfo.status_code == 401


def test_a_foreign_signature_under_the_current_kid_does_not_verify(provider: Provider, http: httpx.Client) -> None:
    forged = provider.mint("ada@example.org", sign_with="foreign", kid=kid_of(provider.mint("ada@example.org")))

    with pytest.raises(InvalidSignature):
        verified_claims(http, provider, forged)


def test_rotation_signs_with_a_new_key_and_keeps_publishing_the_old(provider: Provider, http: httpx.Client) -> None:
    old = kid_of(provider.mint("ada@example.org"))

    provider.rotate_keys()
    token = provider.mint("ada@example.org")
    assert kid_of(token) != old
    assert {old, kid_of(token)} <= {key["kid"] for key in provider.jwks()["keys"]}
    verified_claims(http, provider, token)


def test_rotation_can_drop_the_old_keys(provider: Provider) -> None:
    old = kid_of(provider.mint("ada@example.org"))

    provider.rotate_keys(drop_old=True)
    assert [key["kid"] for key in provider.jwks()["keys"]] == [kid_of(provider.mint("ada@example.org"))]
    assert old not in {key["kid"] for key in provider.jwks()["keys"]}


def test_end_session_returns_to_the_app(provider: Provider, http: httpx.Client) -> None:
    response = http.get(f"{provider.issuer}/end_session", params={"post_logout_redirect_uri": "http://127.0.0.1:9/"})

    assert response.status_code == 302 and response.headers["Location"] == "http://127.0.0.1:9/"
    assert "signed out" in http.get(f"{provider.issuer}/end_session").text.lower()


def test_a_secret_that_starts_with_a_dash_is_a_secret_not_an_option() -> None:
    # token_urlsafe gives one in 64: the provider once refused to start on it.
    provider = start_provider(client_id="c", client_secret="-starts-with-a-dash", redirect_uris=["http://a/cb"])
    try:
        assert httpx.get(f"{provider.issuer}/jwks").status_code == 200
    finally:
        provider.stop()
