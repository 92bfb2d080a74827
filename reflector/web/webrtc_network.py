"""Where a browser reaches this process's WebRTC audio: behind Docker's port mapping (or any NAT with
forwarded ports) the UDP ports must come from a known range (`WEBRTC_PORT_RANGE`) and the answer must
name the host's address, not the container's (`WEBRTC_HOST`)."""

import asyncio
import errno
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@asynccontextmanager
async def ice_ports(ports: range | None) -> AsyncIterator[None]:
    """While open, a UDP socket this event loop binds to an ephemeral port takes one from `ports`.

    aioice (under aiortc) binds each ICE host candidate with `create_datagram_endpoint(local_addr=(ip, 0))`
    and has no setting for a range (aiortc/aioice#47); in the web process nothing else binds UDP that way,
    so the range applies to exactly the WebRTC sockets."""
    if ports is None:
        yield
        return
    loop = asyncio.get_running_loop()
    original = loop.create_datagram_endpoint

    async def in_range(protocol_factory: Any, local_addr: Any = None, **kwargs: Any) -> Any:
        if local_addr is None or local_addr[1] != 0:
            return await original(protocol_factory, local_addr=local_addr, **kwargs)
        for port in random.sample(ports, len(ports)):  # random: two peers gathering at once rarely collide
            try:
                return await original(protocol_factory, local_addr=(local_addr[0], port), **kwargs)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        log.warning("webrtc.ports_exhausted", first=ports.start, last=ports.stop - 1, address=local_addr[0])
        raise OSError(errno.EADDRINUSE, f"every port of WEBRTC_PORT_RANGE {ports.start}-{ports.stop - 1} is in use")

    loop.create_datagram_endpoint = in_range  # type: ignore[method-assign]
    try:
        yield
    finally:
        del loop.create_datagram_endpoint  # the class's method again


async def advertised(sdp: str, host: str | None) -> str:
    """The SDP answer with its host candidates' address replaced by `host`'s (resolved now, so a name that
    moves is followed); candidates of the other address family are left as they are. A name that does
    not resolve leaves the answer unchanged, with a warning: a browser on the same network still connects."""
    if not host:
        return sdp
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as exc:
        log.warning("webrtc.host_unresolved", host=host, error=str(exc))
        return sdp
    # An IPv4 address if there is one: that is what Docker publishes ports on by default.
    family, *_rest, sockaddr = min(found, key=lambda info: info[0] != socket.AF_INET)
    address = str(sockaddr[0])
    version = "IP4" if family == socket.AF_INET else "IP6"
    lines = []
    for line in sdp.split("\r\n"):
        fields = line.split(" ")
        if line.startswith("a=candidate:") and len(fields) > 7 and fields[7] == "host":
            if _family(fields[4]) == family:
                fields[4] = address
                line = " ".join(fields)
        elif line.startswith("c=IN ") and len(fields) == 3 and _family(fields[2]) == family:
            line = f"c=IN {version} {address}"
        lines.append(line)
    return "\r\n".join(lines)


def _family(address: str) -> int | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, address)
        except OSError:
            continue
        return family
    return None
