"""The WebRTC answer names the address a browser can reach, and ICE binds only the ports it may use."""

import asyncio
import socket

from aiortc import RTCPeerConnection

from reflector.web.webrtc_network import advertised, ice_ports


async def _answer() -> str:
    """A real answer from aiortc to a browser-like offer (audio and a data channel)."""
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    try:
        offerer.addTransceiver("audio", direction="sendonly")
        offerer.createDataChannel("data")
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        return answerer.localDescription.sdp
    finally:
        await offerer.close()
        await answerer.close()


def _host_candidates(sdp: str) -> list[tuple[str, int]]:
    out = []
    for line in sdp.splitlines():
        fields = line.split(" ")
        if line.startswith("a=candidate:") and fields[7] == "host":
            out.append((fields[4], int(fields[5])))
    return out


def _is_ipv4(address: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, address)
    except OSError:
        return False
    return True


async def test_the_answer_names_the_configured_host_for_its_candidates() -> None:
    sdp = await _answer()
    before = _host_candidates(sdp)
    assert any(_is_ipv4(a) for a, _ in before)
    after = _host_candidates(await advertised(sdp, "localhost"))
    # Every IPv4 candidate now names the host's address, on the port it had; the others are left alone.
    assert [p for _, p in after] == [p for _, p in before]
    assert [a for a, _ in after if _is_ipv4(a)] == ["127.0.0.1"] * sum(1 for a, _ in before if _is_ipv4(a))
    assert [a for a, _ in after if not _is_ipv4(a)] == [a for a, _ in before if not _is_ipv4(a)]
    assert "c=IN IP4 127.0.0.1" in await advertised(sdp, "127.0.0.1")


async def test_an_unknown_host_or_none_leaves_the_answer_as_it_is() -> None:
    sdp = await _answer()
    assert await advertised(sdp, None) == sdp
    assert await advertised(sdp, "no-such-host.invalid") == sdp


async def test_ice_binds_only_ports_of_the_range_and_gives_a_clear_error_when_they_are_taken() -> None:
    ports = range(47310, 47320)
    async with ice_ports(ports):
        used = {port for _, port in _host_candidates(await _answer())}
        assert used and used <= set(ports)
        # A bind with a port of its own is not touched.
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 47330))
        assert transport.get_extra_info("sockname")[1] == 47330
        transport.close()
        # Every port taken: the bind fails naming the setting.
        held = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in ports]
        try:
            for sock, port in zip(held, ports, strict=True):
                sock.bind(("127.0.0.1", port))
            try:
                await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
            except OSError as exc:
                assert "WEBRTC_PORT_RANGE 47310-47319" in str(exc)
            else:
                raise AssertionError("bound outside the range")
        finally:
            for sock in held:
                sock.close()
    # Outside the context, binding is the system's again.
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    assert transport.get_extra_info("sockname")[1] not in ports
    transport.close()
