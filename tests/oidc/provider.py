"""A small OpenID Connect provider for the tests, run as its own process on loopback.

It speaks the real protocol (discovery, authorization code with mandatory PKCE S256, client_secret_basic and
client_secret_post, RS256 ID and access tokens, JWKS, userinfo, RP-initiated logout), so the app's OIDC client
talks to it unchanged. Tokens are signed with `cryptography` directly, never with the JOSE library the app
validates with, so a bug there cannot hide itself here.

TEST-ONLY controls, which no real provider has: `POST /test/mint` (a signed access token on demand, with claim
overrides, any lifetime, or a key outside the JWKS) and `POST /test/rotate` (a new signing key).

    python -m tests.oidc.provider --port PORT [--issuer URL] [--client-id ID] [--client-secret SECRET]
        [--redirect-uri URI ...]

An empty --client-secret registers a public client (token_endpoint_auth_method "none").

Prints `READY <issuer>` once listening. Set OIDC_PROVIDER_LOG=1 to log requests to stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_LIFETIME = 3600
CODE_LIFETIME = 60
SCOPES = ("openid", "email", "profile")
# RFC 7636 §4.1: verifiers are 43-128 unreserved characters; an S256 challenge is always 43 base64url characters.
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}\Z")
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}\Z")

Claims = dict[str, object]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private.public_key().public_numbers()
        # RFC 7638 thumbprint: unique per key, and a foreign key's kid looks exactly like ours.
        canonical = _json_bytes({"e": _uint(numbers.e), "kty": "RSA", "n": _uint(numbers.n)})
        return cls(kid=b64url(hashlib.sha256(canonical).digest()), private=private)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def sign(self, claims: Mapping[str, object], kid: str | None = None) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = f"{b64url(_json_bytes(header))}.{b64url(_json_bytes(claims))}"
        signature = self.private.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


class Keyring:
    """The published keys (newest signs) and one `foreign` key that is never published."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._published = [SigningKey.generate()]
        self.foreign = SigningKey.generate()

    @property
    def current(self) -> SigningKey:
        with self._lock:
            return self._published[-1]

    def rotate(self, *, drop_old: bool) -> SigningKey:
        key = SigningKey.generate()
        with self._lock:
            self._published = [key] if drop_old else [*self._published, key]
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        with self._lock:
            return {"keys": [key.jwk() for key in reversed(self._published)]}

    def verify(self, token: str) -> Claims | None:
        """The claims of a token signed by a published key, else None; expiry is the caller's to check."""
        try:
            header_part, payload_part, signature_part = token.split(".")
            header = json.loads(b64url_decode(header_part))
            if not isinstance(header, dict) or header.get("alg") != "RS256":
                return None
            with self._lock:
                key = next((k for k in self._published if k.kid == header.get("kid")), None)
            if key is None:
                return None
            key.private.public_key().verify(
                b64url_decode(signature_part),
                f"{header_part}.{payload_part}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(b64url_decode(payload_part))
        except (ValueError, InvalidSignature):  # binascii and JSON errors are ValueErrors
            return None
        return claims if isinstance(claims, dict) else None


@dataclass(frozen=True)
class User:
    email: str
    name: str

    @classmethod
    def signing_in(cls, email: str, name: str = "") -> User:
        # Emails compare case-insensitively, as at most providers, so one person keeps one `sub`.
        email = email.strip().lower()
        return cls(email=email, name=name.strip() or email.partition("@")[0])

    @property
    def sub(self) -> str:
        return "u-" + hashlib.sha256(self.email.encode()).hexdigest()[:16]


@dataclass
class Grant:
    """What an authorization code stands for until it is redeemed once."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    user: User
    auth_time: int
    expires_at: float
    used: bool = False


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, dict(headers or {})


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, value: object, **headers: str) -> Response:
    return Response(status, _json_bytes(value), "application/json", headers)


def html_response(status: int, title: str, body: str) -> Response:
    page = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
        f"<body><main>\n<h1>{html.escape(title)}</h1>\n{body}\n</main></body></html>\n"
    )
    return Response(status, page.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(302, headers={"Location": location, "Cache-Control": "no-store"})


def with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


@dataclass(frozen=True)
class Request:
    query: dict[str, str]
    headers: Message
    body: bytes

    def form(self) -> dict[str, str]:
        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        return single_valued(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> dict[str, object]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise OAuthError(400, "invalid_request", "the body must be a JSON object")
        return value


def single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:  # RFC 6749 §3.1: parameters must not be repeated
            raise OAuthError(400, "invalid_request", f"parameter {name} is repeated")
        values[name] = value
    return values


@dataclass
class ProviderState:
    """The issuer, its one registered client, its keys and the codes it has handed out."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    keys: Keyring = field(default_factory=Keyring)
    grants: dict[str, Grant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path_prefix(self) -> str:
        return urlsplit(self.issuer).path.rstrip("/")

    def is_client(self, client_id: str, secret: str) -> bool:
        # Both halves compared in constant time, so timing does not tell which one was wrong.
        id_matches = secrets.compare_digest(client_id.encode(), self.client_id.encode())
        return secrets.compare_digest(secret.encode(), self.client_secret.encode()) and id_matches

    def _claims(self, user: User, lifetime: int) -> Claims:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": self.client_id,
            "azp": self.client_id,
            "exp": now + lifetime,
            "iat": now,
            "email": user.email,
            "name": user.name,
        }

    def access_token(
        self,
        user: User,
        scope: str,
        *,
        lifetime: int = TOKEN_LIFETIME,
        overrides: Mapping[str, object] | None = None,
        key: SigningKey | None = None,
        kid: str | None = None,
    ) -> str:
        claims = {**self._claims(user, lifetime), "scope": scope}
        # An override of None removes the claim, so tests can send tokens that lack one.
        for name, value in (overrides or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return (key or self.keys.current).sign(claims, kid)

    def id_token(self, grant: Grant, access_token: str) -> str:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims = {**self._claims(grant.user, TOKEN_LIFETIME), "auth_time": grant.auth_time, "email_verified": True}
        claims["at_hash"] = b64url(digest[: len(digest) // 2])  # OIDC Core §3.1.3.6, which clients may check
        if grant.nonce:
            claims["nonce"] = grant.nonce
        return self.keys.current.sign(claims)


def client_credentials(headers: Message, form: Mapping[str, str]) -> list[tuple[str, str]]:
    """The readings of (client_id, client_secret) the request allows, by client_secret_basic or client_secret_post."""
    authorization = headers.get("Authorization")
    if authorization and "client_secret" in form:
        raise OAuthError(400, "invalid_request", "use one client authentication method, not two")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            decoded = ""
        client_id, colon, secret = decoded.partition(":")
        if scheme.lower() != "basic" or not colon:
            raise OAuthError(401, "invalid_client", "malformed Basic credentials", {"WWW-Authenticate": "Basic"})
        # RFC 6749 §2.3.1 form-urlencodes both halves before base64, but authlib and httpx send them raw,
        # as many clients do; providers in the wild accept both, and so do we.
        readings = [(unquote_plus(client_id), unquote_plus(secret)), (client_id, secret)]
        if form.get("client_id") not in (None, *(reading[0] for reading in readings)):
            raise OAuthError(400, "invalid_request", "client_id in the body differs from the Basic credentials")
        return readings
    if "client_secret" in form:
        return [(form.get("client_id", ""), form["client_secret"])]
    raise OAuthError(401, "invalid_client", "client authentication is required", {"WWW-Authenticate": "Basic"})


def discovery(provider: ProviderState, request: Request) -> Response:
    base = provider.issuer
    return json_response(
        200,
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/end_session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]
            + ([] if provider.client_secret else ["none"]),
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
        },
    )


def jwks(provider: ProviderState, request: Request) -> Response:
    return json_response(200, provider.keys.jwks())


# What the login form carries through the browser from GET /authorize to POST /authorize.
AUTHORIZATION_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def authorization_refusal(provider: ProviderState, params: Mapping[str, str]) -> Response | None:
    """Why this authorization request cannot proceed, as the response to send; None when it can."""
    if params.get("client_id") != provider.client_id:
        return html_response(400, "Unknown client", "<p>The client_id is not registered with this provider.</p>")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in provider.redirect_uris:
        # RFC 6749 §4.1.2.1: never redirect to an unverified URI; tell the person instead.
        return html_response(400, "Unregistered redirect_uri", "<p>The redirect_uri is not registered.</p>")
    if params.get("response_type") != "code":
        error, description = "unsupported_response_type", "response_type must be code"
    elif "openid" not in params.get("scope", "").split():
        error, description = "invalid_scope", "scope must include openid"
    elif not params.get("state"):
        error, description = "invalid_request", "state is required"
    elif params.get("code_challenge_method") != "S256" or not PKCE_CHALLENGE.match(params.get("code_challenge", "")):
        error, description = "invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256"
    else:
        return None
    return redirect(with_query(redirect_uri, error=error, error_description=description, state=params.get("state")))


def login_page(provider: ProviderState, params: Mapping[str, str], *, status: int = 200, problem: str = "") -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in AUTHORIZATION_PARAMS
        if name in params
    )
    email, name = html.escape(params.get("email", "")), html.escape(params.get("name", ""))
    form = f"""{f'<p role="alert">{html.escape(problem)}</p>' if problem else ""}
<form method="post" action="{html.escape(provider.issuer)}/authorize">
{hidden}
<p><label for="email">Email</label> <input name="email" id="email" type="email" value="{email}" required autofocus></p>
<p><label for="name">Name</label> <input name="name" id="name" type="text" value="{name}"></p>
<p><button type="submit">Sign in</button></p>
</form>"""
    return html_response(status, "Sign in", form)


def authorize(provider: ProviderState, request: Request) -> Response:
    return authorization_refusal(provider, request.query) or login_page(provider, request.query)


def authorize_submit(provider: ProviderState, request: Request) -> Response:
    form = request.form()
    # The form's hidden fields come back from the browser, so they are checked again like a fresh request.
    refusal = authorization_refusal(provider, form)
    if refusal is not None:
        return refusal
    if "@" not in form.get("email", ""):
        return login_page(provider, form, status=400, problem="Enter an email address to sign in.")
    code = secrets.token_urlsafe(32)
    grant = Grant(
        client_id=form["client_id"],
        redirect_uri=form["redirect_uri"],
        code_challenge=form["code_challenge"],
        nonce=form.get("nonce") or None,
        scope=" ".join(s for s in form["scope"].split() if s in SCOPES),
        user=User.signing_in(form["email"], form.get("name", "")),
        auth_time=int(time.time()),
        expires_at=time.monotonic() + CODE_LIFETIME,
    )
    with provider.lock:
        provider.grants[code] = grant
    return redirect(with_query(grant.redirect_uri, code=code, state=form["state"]))


def token(provider: ProviderState, request: Request) -> Response:
    form = request.form()
    if not provider.client_secret:  # a public client (auth method "none"): PKCE alone ties the code to it
        if form.get("client_id") != provider.client_id or "Authorization" in request.headers:
            raise OAuthError(401, "invalid_client", "a public client sends its client_id and no credentials")
    elif not any(provider.is_client(*reading) for reading in client_credentials(request.headers, form)):
        raise OAuthError(401, "invalid_client", "client authentication failed", {"WWW-Authenticate": "Basic"})
    if form.get("grant_type") != "authorization_code":
        raise OAuthError(400, "unsupported_grant_type", "only authorization_code is supported")
    with provider.lock:
        grant = provider.grants.get(form.get("code", ""))
        already_used = grant is not None and grant.used
        if grant is not None:
            grant.used = True  # any presentation spends the code, so a guessed verifier gets one try
    if grant is None:
        raise OAuthError(400, "invalid_grant", "unknown authorization code")
    if already_used:
        raise OAuthError(400, "invalid_grant", "authorization code already used")
    if time.monotonic() > grant.expires_at:
        raise OAuthError(400, "invalid_grant", "authorization code expired")
    if grant.client_id != provider.client_id or form.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError(400, "invalid_grant", "code was issued to another client or redirect_uri")
    verifier = form.get("code_verifier", "")
    challenge = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    if not PKCE_VERIFIER.match(verifier) or not secrets.compare_digest(challenge, grant.code_challenge):
        raise OAuthError(400, "invalid_grant", "PKCE verification failed")
    access_token = provider.access_token(grant.user, grant.scope)
    body = {
        "access_token": access_token,
        "id_token": provider.id_token(grant, access_token),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": grant.scope,
    }
    return json_response(200, body, **{"Cache-Control": "no-store", "Pragma": "no-cache"})


def userinfo(provider: ProviderState, request: Request) -> Response:
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    claims = provider.keys.verify(bearer.strip()) if scheme.lower() == "bearer" else None
    expires = claims.get("exp", 0) if claims else 0
    if not claims or not isinstance(expires, int | float) or expires <= time.time() or claims["iss"] != provider.issuer:
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        raise OAuthError(401, "invalid_token", "the access token is missing, invalid or expired", challenge)
    return json_response(200, {name: claims[name] for name in ("sub", "email", "name") if name in claims})


def end_session(provider: ProviderState, request: Request) -> Response:
    target = request.query.get("post_logout_redirect_uri")
    if target:
        return redirect(with_query(target, state=request.query.get("state")))
    return html_response(200, "Signed out", "<p>You are signed out.</p>")


def mint_for_test(provider: ProviderState, request: Request) -> Response:
    """TEST-ONLY: an access token as /token would issue, bent as a test needs."""
    body = request.json()
    email, claims, lifetime = body.get("email"), body.get("claims") or {}, body.get("lifetime", TOKEN_LIFETIME)
    sign_with, kid = body.get("sign_with", "current"), body.get("kid")
    if not isinstance(email, str) or "@" not in email:
        raise OAuthError(400, "invalid_request", "email must be an email address")
    if not isinstance(claims, dict) or not isinstance(lifetime, int) or sign_with not in ("current", "foreign"):
        raise OAuthError(
            400, "invalid_request", "claims must be an object, lifetime an integer, sign_with current|foreign"
        )
    if kid is not None and not isinstance(kid, str):
        raise OAuthError(400, "invalid_request", "kid must be a string")
    key = provider.keys.foreign if sign_with == "foreign" else provider.keys.current
    user = User.signing_in(email)
    minted = provider.access_token(user, " ".join(SCOPES), lifetime=lifetime, overrides=claims, key=key, kid=kid)
    return json_response(200, {"token": minted})


def rotate_for_test(provider: ProviderState, request: Request) -> Response:
    """TEST-ONLY: a new current signing key; the old ones stay published unless drop_old."""
    drop_old = request.json().get("drop_old", False)
    if not isinstance(drop_old, bool):
        raise OAuthError(400, "invalid_request", "drop_old must be a boolean")
    return json_response(200, {"kid": provider.keys.rotate(drop_old=drop_old).kid})


Route = Callable[[ProviderState, Request], Response]
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/.well-known/openid-configuration"): discovery,
    ("GET", "/jwks"): jwks,
    ("GET", "/authorize"): authorize,
    ("POST", "/authorize"): authorize_submit,
    ("POST", "/token"): token,
    ("GET", "/userinfo"): userinfo,
    ("POST", "/userinfo"): userinfo,
    ("GET", "/end_session"): end_session,
    ("POST", "/test/mint"): mint_for_test,
    ("POST", "/test/rotate"): rotate_for_test,
}


class ProviderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, provider: ProviderState) -> None:
        self.provider = provider
        super().__init__(("127.0.0.1", port), RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    server: ProviderServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do; every response carries Content-Length

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        provider = self.server.provider
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        prefix = provider.path_prefix
        route = ROUTES.get((method, url.path[len(prefix) :])) if url.path.startswith(prefix + "/") else None
        try:
            if route is None:
                raise OAuthError(404, "not_found", f"no {method} {url.path} here")
            query = single_valued(parse_qsl(url.query, keep_blank_values=True))
            response = route(provider, Request(query, self.headers, body))
        except OAuthError as error:
            response = json_response(
                error.status, {"error": error.error, "error_description": error.description}, **error.headers
            )
        except Exception:
            # Nobody watches this process's stderr, so a provider bug travels to the failing test in the body.
            traceback.print_exc()
            response = json_response(500, {"error": "server_error", "error_description": traceback.format_exc()})
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.body or response.status != 302:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("OIDC_PROVIDER_LOG"):
            sys.stderr.write(f"oidc-provider: {format % args}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.oidc.provider", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", help="default: http://127.0.0.1:PORT")
    parser.add_argument("--client-id", default="reflector")
    parser.add_argument("--client-secret", default="reflector-secret")
    parser.add_argument("--redirect-uri", action="extend", nargs="+", default=[], dest="redirect_uris")
    args = parser.parse_args(argv)
    issuer = (args.issuer or f"http://127.0.0.1:{args.port}").rstrip("/")
    provider = ProviderState(issuer, args.client_id, args.client_secret, tuple(args.redirect_uris))
    server = ProviderServer(args.port, provider)
    print(f"READY {issuer}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
