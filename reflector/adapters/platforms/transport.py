"""What the three platform clients share: one httpx client per platform, JSON in and out as msgspec
Structs, and one error that names the platform and what it answered."""

from types import TracebackType
from typing import Any, ClassVar, Self

import httpx
import msgspec

TIMEOUT_S = 15.0


class PlatformError(Exception):
    """A platform refused a call or could not be reached; the message says which, and what it answered."""

    def __init__(self, platform: str, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.platform = platform
        self.status = status
        self.body = body


class PlatformHttp:
    """JSON over HTTP to one platform's API, below `base_url`, with the headers it authenticates by."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout: float = TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.platform = platform
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: msgspec.Struct | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect: type | None = None,
    ) -> Any:
        """Send `body` as JSON, and decode the answer as `expect` (None: the answer is not read)."""
        content = msgspec.json.encode(body) if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if content is not None else headers
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.request(method, path, content=content, params=query, headers=sent)
        except httpx.TimeoutException as exc:
            raise PlatformError(self.platform, f"{self.platform} did not answer {method} {path} in time") from exc
        except httpx.TransportError as exc:
            raise PlatformError(self.platform, f"{self.platform} could not be reached ({exc})") from exc
        if response.status_code >= 400:
            raise PlatformError(
                self.platform,
                f"{self.platform} answered {method} {path} with HTTP {response.status_code}: {response.text[:300]}",
                status=response.status_code,
                body=response.text,
            )
        if expect is None:
            return None
        try:
            return msgspec.json.decode(response.content, type=expect, strict=False)
        except msgspec.DecodeError as exc:
            raise PlatformError(
                self.platform,
                f"{self.platform} answered {method} {path} with a shape we do not read: {exc}",
                status=response.status_code,
                body=response.text,
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class BearerPlatformHttp(PlatformHttp):
    """A platform whose API takes its key as a bearer token (Daily, Whereby)."""

    platform_name: ClassVar[str]
    default_api_url: ClassVar[str]

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        timeout: float = TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            self.platform_name,
            base_url or self.default_api_url,
            {"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )
