"""Connections to addresses a user typed (a webhook receiver, a calendar feed) reach only public hosts.

The check happens where the connection is made, after DNS resolution (a custom httpcore network
backend): the name is resolved once, every address checked, and the connection made to a checked address,
so a name that resolves to 127.0.0.1, or that changes its answer between a check and the connection (DNS
rebinding), reaches nothing of ours. TLS still verifies the certificate against the name. Cloud metadata
addresses are refused even where private targets are allowed.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The target's address is one we do not connect to; the message says which and why."""


def refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why nothing may connect to `ip` (None: it may)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    if allow_private:
        return None
    for test, what in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_private, "a private address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "an unspecified address"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return what
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses `refusal` allows, resolving the name itself. `setting` is the one that
    allows private addresses, named in the refusal."""

    def __init__(self, *, allow_private: bool, setting: str) -> None:
        self._allow_private = allow_private
        self._setting = setting
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
        allowed = [ip for ip in addresses if refusal(ip, allow_private=self._allow_private) is None]
        if not allowed:
            ip = addresses[0]
            why = refusal(ip, allow_private=self._allow_private)
            hint = "" if why == "a cloud metadata address" else f" ({self._setting}=true allows it)"
            raise TargetRefused(f"{host} is {ip}, {why}{hint}")
        last: Exception | None = None
        for ip in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("only TCP connections are made")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
