"""Fetching a room's calendar feed (an ICS URL its owner typed): a conditional GET (If-None-Match with the
ETag the server gave last time; 304 = unchanged), at most MAX_BYTES, a timeout, and no address that is not
public unless the install allows private ones (the URL is the owner's, but it is fetched from our network,
so it must not reach our own services). Each address is checked where the connection is made
(public_network.py), so DNS rebinding reaches nothing of ours either. Redirects are followed a few times,
each target checked again; `webcal://` is fetched over HTTPS.
"""

import asyncio
from urllib.parse import urljoin, urlsplit

import httpcore

from reflector.adapters.public_network import GuardedBackend, TargetRefused

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 30.0
MAX_REDIRECTS = 3
USER_AGENT = "Reflector/1.0 (calendar sync)"


class FeedError(Exception):
    """The feed could not be fetched; the message says why, for the room's owner."""


class CalendarHttp:
    def __init__(
        self, *, allow_private: bool = False, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=GuardedBackend(allow_private=allow_private, setting="ICS_ALLOW_PRIVATE_URLS"), retries=0
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def fetch(self, url: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """The feed's body and ETag; (None, etag) when the server says it has not changed since `etag`."""
        if url.lower().startswith("webcal://"):
            url = "https://" + url[len("webcal://") :]
        try:
            async with asyncio.timeout(self._timeout_s):
                for _ in range(MAX_REDIRECTS + 1):
                    answer = await self._get(url, etag)
                    if isinstance(answer, str):
                        url = answer
                        continue
                    return answer
        except TargetRefused as exc:
            raise FeedError(f"The calendar's address is not a public one, so it is not fetched: {exc}") from exc
        except TimeoutError as exc:
            raise FeedError(f"The calendar server did not answer within {self._timeout_s:g} s") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException, OSError) as exc:
            raise FeedError(f"The calendar could not be fetched ({type(exc).__name__})") from exc
        raise FeedError("The calendar URL redirects too many times")

    async def _get(self, url: str, etag: str | None) -> tuple[bytes | None, str | None] | str:
        """One GET: the body and ETag, (None, etag) for 304, or the URL a redirect points to."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FeedError("The calendar URL must be an http(s) or webcal address")
        headers = [("User-Agent", USER_AGENT), *([("If-None-Match", etag)] if etag else [])]
        async with self._pool.stream("GET", url, headers=headers) as answer:
            found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in answer.headers}
            if answer.status in (301, 302, 303, 307, 308) and "location" in found:
                return urljoin(url, found["location"])
            if answer.status == 304:
                return None, etag
            if answer.status != 200:
                raise FeedError(f"The calendar server answered HTTP {answer.status}")
            body = bytearray()
            async for chunk in answer.aiter_stream():
                body += chunk
                if len(body) > self.max_bytes:
                    raise FeedError(f"The calendar is larger than {self.max_bytes // (1024 * 1024)} MB")
            return bytes(body), found.get("etag")
