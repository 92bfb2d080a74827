"""The test OpenID Connect provider (tests/oidc/provider.py) as a process on loopback, and handles to drive it.

with start_provider(client_id="reflector", client_secret="s3cret", redirect_uris=[callback]) as provider:
    settings = ...(issuer=provider.issuer, client_id=provider.client_id, client_secret=provider.client_secret)
    callback_url = provider.sign_in(authorize_url, email="ada@example.org")
    token = provider.mint("ada@example.org", aud="someone-else")
"""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from types import TracebackType
from typing import IO, Any, Literal

import httpx

from tests.net import free_port
from tests.paths import REPO

READY_TIMEOUT = 20.0


class Provider:
    """A running provider: where it is, the one client registered with it, and its test-only controls."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[str],
        stderr: IO[bytes],
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self._process = process
        self._stderr = stderr
        self._http = httpx.Client(timeout=10.0)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def mint(
        self,
        email: str,
        *,
        lifetime: int | None = None,
        sign_with: Literal["current", "foreign"] = "current",
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """An access token for `email` as /token would issue it, with `claims` overriding (None removes one).

        A negative `lifetime` gives an expired token; `sign_with="foreign"` signs with a key outside the JWKS,
        and `kid` puts any key id in the header (say, the current one on a foreign signature).
        """
        body: dict[str, Any] = {"email": email, "claims": claims, "sign_with": sign_with}
        if lifetime is not None:
            body["lifetime"] = lifetime
        if kid is not None:
            body["kid"] = kid
        return self._control("mint", body)["token"]

    def rotate_keys(self, drop_old: bool = False) -> None:
        """Sign from now on with a new key; the JWKS keeps listing the old ones unless `drop_old`."""
        self._control("rotate", {"drop_old": drop_old})

    def jwks(self) -> dict[str, Any]:
        response = self._http.get(f"{self.issuer}/jwks")
        response.raise_for_status()
        return response.json()

    def sign_in(self, authorize_url: str, *, email: str, name: str = "") -> str:
        """Do what a person does at the login page `authorize_url` leads to; the Location sent back."""
        page = self._http.get(authorize_url)
        page.raise_for_status()
        form = LoginForm.parse(page.text)
        response = self._http.post(form.action, data={**form.fields, "email": email, "name": name})
        if response.status_code != 302:
            raise AssertionError(f"sign-in answered {response.status_code}: {response.text[:500]}")
        return response.headers["Location"]

    def stop(self) -> None:
        self._http.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _control(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(f"{self.issuer}/test/{name}", json=body)
        if response.status_code != 200:
            raise AssertionError(f"/test/{name} answered {response.status_code}: {response.text}")
        return response.json()


class LoginForm(HTMLParser):
    """The provider's login form, read as a browser would: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    @classmethod
    def parse(cls, page: str) -> LoginForm:
        form = cls()
        form.feed(page)
        form.close()
        if not form.action:
            raise AssertionError(f"no login form on the page: {page[:500]}")
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")


def start_provider(*, client_id: str, client_secret: str, redirect_uris: list[str], issuer_path: str = "") -> Provider:
    """A fresh provider process with one registered client, ready to answer; stop it (or use `with`)."""
    port = free_port()
    path = "/" + issuer_path.strip("/") if issuer_path.strip("/") else ""
    issuer = f"http://127.0.0.1:{port}{path}"
    command = [sys.executable, "-m", "tests.oidc.provider", "--port", str(port), "--issuer", issuer]
    # `--name=value`: a random secret may start with "-", which argparse would take for an option.
    command += [f"--client-id={client_id}", f"--client-secret={client_secret}"]
    for uri in redirect_uris:
        command += [f"--redirect-uri={uri}"]
    # A file, not a pipe, for stderr: nobody reads it while tests run, and a full pipe would stall the provider.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  (the Provider owns it and closes it in stop())
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = _first_line(process, READY_TIMEOUT)
    if line != f"READY {issuer}":
        if line:
            said = f"printed {line!r} instead of READY"
        elif process.poll() is not None:
            said = f"exited with status {process.returncode}"
        else:
            said = f"was not ready within {READY_TIMEOUT:.0f} s"
        process.kill()
        process.wait(timeout=10)
        stderr.seek(0)
        output = stderr.read().decode("utf-8", "replace")
        stderr.close()
        raise RuntimeError(f"the test OIDC provider ({' '.join(command)}) {said}; its stderr:\n{output}")
    return Provider(
        process=process,
        stderr=stderr,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
    )


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    # readline() has no timeout of its own; a reader thread lets us give up on a provider that hangs.
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        return None
