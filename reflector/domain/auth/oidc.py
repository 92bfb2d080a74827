"""The OpenID Connect relying party: sign-in by authorization code with PKCE (authlib), and verification
of the provider's JWTs (joserfc) against its published keys.

Every check a token must pass is here: a pinned algorithm list (no `none`, no HMAC with a public key as
the secret), the signing key by `kid` from the provider's JWKS (fetched again when an unknown `kid`
appears, so a key rotation needs no restart, though never so often that made-up kids could have us
hammer the provider), issuer, audience, expiry and not-before with a small leeway for clock skew; and
for an API bearer token, that it is an access token and not the ID token of a sign-in.
"""

import asyncio
import secrets
import time
from collections import deque
from typing import Any, ClassVar

import httpx
import structlog
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from reflector.domain.auth.models import Identity, InvalidCredential, SignInFailed
from reflector.domain.auth.sessions import LoginAttempt
from reflector.domain.errors import DomainError
from reflector.settings import AuthSettings

log = structlog.get_logger(__name__)

FETCHES_PER_MINUTE = 10
MISSING_KID_TTL_S = 300.0
MISSING_KIDS_KEPT = 1000
DISCOVERY_TTL_S = 3600.0
LEEWAY_S = 60
HTTP_TIMEOUT_S = 10.0
# OIDC Core §2 and §3.1.3.6: what binds an ID token to a sign-in request and its other tokens.
# `nonce` is not among them: Keycloak and Authentik copy it into the access tokens of the same sign-in.
ID_TOKEN_ONLY_CLAIMS = ("at_hash", "c_hash")


class ProviderUnavailable(DomainError):
    """The identity provider could not be reached or answered nonsense."""

    status: ClassVar[int] = 503


class OidcClient:
    def __init__(self, settings: AuthSettings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT_S)
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._fetches: deque[float] = deque()
        self._missing: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    @property
    def issuer(self) -> str:
        return self._settings.oidc_issuer.rstrip("/")

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL_S:
            url = f"{self.issuer}/.well-known/openid-configuration"
            document = await self._get_json(url)
            # OIDC Discovery §4.3: the document must name the issuer we asked, or it is someone else's.
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise ProviderUnavailable(f"{url} names issuer {document.get('issuer')!r}, not {self.issuer!r}")
            self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"the identity provider did not answer {url}: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return body

    async def _key_set(self, kid: str | None) -> KeySet:
        """The provider's keys, fetched again when a token names a key we do not hold (a rotation).

        A kid still missing after a fetch is remembered for a while, and fetches are capped per minute, so
        tokens with made-up kids cannot turn us into a flood of requests to the provider.
        """
        async with self._lock:
            now = time.monotonic()
            known = self._keys is not None and (kid is None or _has_kid(self._keys, kid))
            recently_missing = kid is not None and now - self._missing.get(kid, float("-inf")) < MISSING_KID_TTL_S
            while self._fetches and now - self._fetches[0] > 60:
                self._fetches.popleft()
            if self._keys is None or (not known and not recently_missing and len(self._fetches) < FETCHES_PER_MINUTE):
                jwks = await self._get_json((await self.metadata())["jwks_uri"])
                try:
                    self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError) as exc:
                    raise ProviderUnavailable(f"the provider's JWKS is not usable: {exc}") from exc
                self._fetches.append(now)
                log.info("oidc.keys_fetched", kids=[k.kid for k in self._keys.keys])
                if kid is not None and not _has_kid(self._keys, kid):
                    if len(self._missing) > MISSING_KIDS_KEPT:
                        self._missing.clear()
                    self._missing[kid] = now
            return self._keys

    async def verify(self, token: str, *, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a token the provider signed for `audience`; InvalidCredential otherwise."""
        header = _header(token)
        if header.get("alg") not in self._settings.algorithms:
            raise InvalidCredential("Invalid token: signature algorithm not accepted")
        keys = await self._key_set(header.get("kid"))
        try:
            decoded = jwt.decode(token, keys, algorithms=self._settings.algorithms)
            claims: dict[str, Any] = dict(decoded.claims)
            rules: dict[str, Any] = {
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": audience},
                "sub": {"essential": True},
                "exp": {"essential": True},
            }
            if nonce is not None:
                rules["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(leeway=LEEWAY_S, **rules).validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidCredential(f"Invalid token: {_reason(exc)}") from exc
        return claims

    async def identity_from_access_token(self, token: str) -> Identity:
        """Who an API bearer token speaks for; it must be an access token, not the ID token of a sign-in."""
        claims = await self.verify(token, audience=self._settings.audience)
        if is_id_token(_header(token), claims):
            raise InvalidCredential("Invalid token: this is an ID token; send the provider's access token")
        return _identity(claims)

    async def begin_sign_in(self, redirect_uri: str, next_path: str) -> tuple[str, LoginAttempt]:
        """The provider's authorization URL to send the browser to, and what to remember until it returns."""
        attempt = LoginAttempt(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            next_path=next_path,
        )
        metadata = await self.metadata()
        async with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                metadata["authorization_endpoint"],
                state=attempt.state,
                nonce=attempt.nonce,
                code_verifier=attempt.code_verifier,
            )
        return url, attempt

    async def finish_sign_in(self, code: str, attempt: LoginAttempt) -> Identity:
        """Trade the code for tokens and verify the ID token: who signed in."""
        metadata = await self.metadata()
        async with self._oauth(attempt.redirect_uri) as oauth:
            try:
                token = await oauth.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=attempt.code_verifier
                )
            except Exception as exc:  # authlib raises OAuthError, httpx errors or ValueError here
                raise SignInFailed(f"The identity provider refused the sign-in: {exc}") from exc
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("The identity provider sent no ID token; is the 'openid' scope allowed?")
        try:
            claims = await self.verify(id_token, audience=self._settings.oidc_client_id, nonce=attempt.nonce)
        except InvalidCredential as exc:
            raise SignInFailed(f"The identity provider's ID token was not valid ({exc})") from exc
        return _identity(claims)

    def _oauth(self, redirect_uri: str) -> AsyncOAuth2Client:
        secret = self._settings.oidc_client_secret or None
        return AsyncOAuth2Client(
            client_id=self._settings.oidc_client_id,
            client_secret=secret,
            scope=self._settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            timeout=HTTP_TIMEOUT_S,
        )

    async def sign_out_url(self, return_to: str) -> str | None:
        """Where to end the provider's own session too (RP-initiated logout), when it offers that."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except ProviderUnavailable:
            return None
        if not endpoint:
            return None
        # client_id stands in for id_token_hint (OIDC RP-Initiated Logout §2), so no ID token is kept.
        params = {"post_logout_redirect_uri": return_to, "client_id": self._settings.oidc_client_id}
        return str(httpx.URL(endpoint, params=params))


def _header(token: str) -> dict[str, Any]:
    try:
        return jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidCredential("Invalid token") from exc


def is_id_token(header: dict[str, Any], claims: dict[str, Any]) -> bool:
    """Whether a verified token is an ID token rather than an access token.

    With OIDC_AUDIENCE unset both name our client id in `aud`, so the signature and audience alone cannot
    tell them apart. Providers that say what a token is are believed: Keycloak's `typ` claim ("ID" or
    "Bearer"), RFC 9068's `at+jwt` header. Others are judged by the claims OIDC defines for ID tokens
    only: the hashes binding it to the access token or code it came with.
    """
    kind = claims.get("typ")
    if isinstance(kind, str) and kind.lower() == "id":
        return True
    declared = str(header.get("typ", "")).lower().removeprefix("application/")
    if declared == "at+jwt" or (isinstance(kind, str) and kind.lower() == "bearer"):
        return False
    return any(name in claims for name in ID_TOKEN_ONLY_CLAIMS)


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _reason(exc: Exception) -> str:
    return getattr(exc, "description", None) or getattr(exc, "error", None) or type(exc).__name__


def _identity(claims: dict[str, Any]) -> Identity:
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = claims.get("name") or claims.get("preferred_username") or (email.split("@")[0] if email else "")
    expires = claims.get("exp")
    expires_at = float(expires) if isinstance(expires, int | float) else None
    return Identity(sub=str(claims["sub"]), email=email, name=str(name), expires_at=expires_at)
