"""Which peers may say who the client is.

Behind a reverse proxy every request comes from the proxy, and the client's address is in its
X-Forwarded-For. Anyone can send that header, though, so it is believed only from the proxies named in
FORWARDED_ALLOW_IPS; from any other peer it is ignored and the peer's own address stands. Sign-ins are
rate limited per client address, and a header believed from anyone would hand out a fresh allowance per
forged value.
"""

import ipaddress
from typing import Any

TRUST_ANY = "*"


class InvalidProxyList(ValueError):
    """FORWARDED_ALLOW_IPS names something that is not an address or a network."""


def trusted_proxies(setting: str) -> list[str]:
    """FORWARDED_ALLOW_IPS's entries, each checked; InvalidProxyList names the first that is not usable."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    for entry in entries:
        if entry == TRUST_ANY:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise InvalidProxyList(
                f"FORWARDED_ALLOW_IPS={setting!r}: {entry!r} is not an IP address or network "
                "(e.g. 10.0.0.5,172.16.0.0/12)"
            ) from exc
    return entries


def uvicorn_proxy_options(setting: str) -> dict[str, Any]:
    """uvicorn's arguments for these proxies. With none its proxy-headers middleware is left out: uvicorn's
    default would believe any peer on 127.0.0.1, a local process or a same-host proxy's other clients."""
    proxies = trusted_proxies(setting)
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}
