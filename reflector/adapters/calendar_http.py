"""Fetching a room's calendar feed (an ICS URL its owner typed): a conditional GET (If-None-Match with the
ETag the server gave last time; 304 = unchanged), at most MAX_BYTES, a timeout, and no address that is not
public unless the install allows private ones (the URL is the owner's, but it is fetched from our network,
so it must not reach our own services). Redirects are followed a few times, each target checked again;
`webcal://` is fetched over HTTPS. The check resolves the name first and refuses if any address is not
public; the connection then resolves it again (a name that changes its answer in between is not caught:
calendars are fetched by GET only, and nothing of the answer but an ICS body is kept).
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 30.0
MAX_REDIRECTS = 3
USER_AGENT = "Reflector/1.0 (calendar sync)"
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200"))


class FeedError(Exception):
    """The feed could not be fetched; the message says why, for the room's owner."""


async def _check_host(host: str, port: int, allow_private: bool) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FeedError(f"The calendar's host {host!r} could not be resolved") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address in _METADATA or (not allow_private and not address.is_global):
            raise FeedError(f"The calendar's address {host!r} is not a public one, so it is not fetched")


class CalendarHttp:
    def __init__(
        self, *, allow_private: bool = False, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """The feed's body and ETag; (None, etag) when the server says it has not changed since `etag`."""
        if url.lower().startswith("webcal://"):
            url = "https://" + url[len("webcal://") :]
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FeedError("The calendar URL must be an http(s) or webcal address")
            await _check_host(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), self.allow_private
            )
            headers = {"If-None-Match": etag} if etag else {}
            try:
                async with self._client.stream("GET", url, headers=headers) as answer:
                    if answer.status_code in (301, 302, 303, 307, 308) and "location" in answer.headers:
                        url = urljoin(url, answer.headers["location"])
                        continue
                    if answer.status_code == 304:
                        return None, etag
                    if answer.status_code != 200:
                        raise FeedError(f"The calendar server answered HTTP {answer.status_code}")
                    body = bytearray()
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_bytes:
                            raise FeedError(f"The calendar is larger than {self.max_bytes // (1024 * 1024)} MB")
                    return bytes(body), answer.headers.get("etag")
            except httpx.HTTPError as exc:
                raise FeedError(f"The calendar could not be fetched ({type(exc).__name__})") from exc
        raise FeedError("The calendar URL redirects too many times")
