"""Recording over WebRTC as Reflector's clients do it: an aiortc peer streams a real recording in real time,
says STOP on the data channel, and what it sent is kept as the transcript's recording, queued to process."""

import asyncio
import json
from pathlib import Path

import httpx
import msgspec
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import NewTranscript
from reflector.pipelines import audio
from reflector.pipelines.wav_writer import GrowingWav
from reflector.settings import Settings
from reflector.web import recording
from reflector.web.app import create_app
from tests.live_client import PacedRecording, live_recording
from tests.net import serve
from tests.paths import REAL

RECORDING = REAL / "jfk.flac"


async def _offer(peer: RTCPeerConnection, http: httpx.AsyncClient, transcript_id: str) -> httpx.Response:
    await peer.setLocalDescription(await peer.createOffer())
    return await http.post(
        f"/v1/transcripts/{transcript_id}/record/webrtc",
        json={"sdp": peer.localDescription.sdp, "type": peer.localDescription.type},
    )


async def _status_becomes(services: Services, transcript_id: str, wanted: set[str], seconds: float) -> str:
    for _ in range(int(seconds * 10)):
        status = (await services.transcripts.get(transcript_id)).status
        if status in wanted:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"status stayed {status}, not one of {wanted}")


async def test_a_streamed_recording_is_kept_and_queued_when_the_peer_says_stop(
    clean: Services, served: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        peer = RTCPeerConnection()
        player = MediaPlayer(str(RECORDING))
        peer.addTrack(player.audio)
        channel = peer.createDataChannel("data")
        opened = asyncio.Event()
        pongs: list[str] = []
        channel.on("open", opened.set)
        channel.on("message", pongs.append)
        try:
            answered = await _offer(peer, http, transcript_id)
            assert answered.status_code == 200, answered.text
            assert answered.json()["type"] == "answer"
            await peer.setRemoteDescription(RTCSessionDescription(**answered.json()))
            await asyncio.wait_for(opened.wait(), 20)
            assert await _status_becomes(clean, transcript_id, {"recording"}, 5) == "recording"
            channel.send("ping 1")

            # A second recording of the same transcript is refused while this one runs.
            second = RTCPeerConnection()
            second.addTransceiver("audio", direction="sendonly")
            refused = await _offer(second, http, transcript_id)
            await second.close()
            assert refused.status_code == 409 and "already being recorded" in refused.json()["detail"]

            await asyncio.sleep(audio.duration_of(audio.decode(RECORDING)) + 1.0)  # played in real time
            channel.send(json.dumps({"cmd": "STOP"}))
            await _status_becomes(clean, transcript_id, {"uploaded", "processing"}, 20)
        finally:
            await peer.close()
    assert pongs == ["pong 1"]
    transcript = await clean.transcripts.get(transcript_id)
    assert transcript.source_kind == "live"
    # What was received is the recording: about the 11 s that were played, stored and queued.
    assert 9_000 <= transcript.duration <= 13_000, transcript.duration
    stored = tmp_path / "kept.wav"
    await clean.storage.download(await clean.transcripts.upload_of(transcript_id), stored)
    assert 9.0 <= audio.duration_of(audio.decode(stored)) <= 13.0
    # The status reads "uploaded" a moment before the run is queued and the recording's lock let go.
    for _ in range(100):
        queued = await clean.runs.active_run(transcript_id) is not None
        if queued and await clean.redis.get(f"reflector:recording:{transcript_id}") is None:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the recording was stored but not queued, or its lock was kept")
    # Stored and queued, the recording is not replaced by a late offer (a page that lost its connection).
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        late = RTCPeerConnection()
        late.addTransceiver("audio", direction="sendonly")
        refused = await _offer(late, http, transcript_id)
        await late.close()
    assert refused.status_code == 409 and "already has its recording" in refused.json()["detail"]


async def test_an_offer_that_is_not_sdp_is_a_clear_400(clean: Services, served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        bad = await http.post(f"/v1/transcripts/{transcript_id}/record/webrtc", json={"sdp": "hello", "type": "offer"})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("Not a usable WebRTC offer")
        # Nothing is left holding the transcript.
        assert (await clean.transcripts.get(transcript_id)).status == "idle"


async def test_a_recording_cut_short_by_a_crash_is_kept_at_the_next_start(clean: Services, settings: Settings) -> None:
    """The web process died mid-meeting: its file on disk and the transcript still `recording`, no lock."""
    transcript = await clean.transcripts.create(NewTranscript(name="Cut short", source_kind="live"))
    await clean.transcripts.set_status(transcript.id, "recording")
    partial = GrowingWav(settings.data_dir / "live" / f"{transcript.id}.wav", 16_000)
    speech = audio.decode(RECORDING)
    partial.append(speech[: 16_000 * 3])
    partial.flush()
    partial.append(speech[16_000 * 3 : 16_000 * 5])  # written, but the header never caught up
    partial._file.flush()  # what the OS has when the process is killed
    async with serve(create_app(settings, services=clean)):
        transcript = await clean.transcripts.get(transcript.id)
    assert transcript.status == "uploaded" and 4_500 <= transcript.duration <= 5_500, transcript
    assert await clean.runs.active_run(transcript.id) is not None
    assert not (settings.data_dir / "live" / f"{transcript.id}.wav").exists()


async def test_a_dropped_connection_that_comes_back_goes_on_with_the_same_recording(
    clean: Services, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "RECONNECT_S", 6.0)
    speech = audio.decode(RECORDING)
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        first = PacedRecording(speech[: 16_000 * 4])
        async with live_recording(http, transcript_id, first):
            await first.passed()
        # The browser's page went away without STOP: the recording waits for it.
        await asyncio.sleep(1.0)
        assert (await clean.transcripts.get(transcript_id)).status == "recording"
        assert await clean.runs.active_run(transcript_id) is None

        second = PacedRecording(speech[16_000 * 4 :])
        async with live_recording(http, transcript_id, second) as peer:
            await second.passed()
            await asyncio.sleep(0.5)
            peer.stop()
            await _status_becomes(clean, transcript_id, {"uploaded", "processing"}, 20)
    # One recording holding both parts, queued once.
    transcript = await clean.transcripts.get(transcript_id)
    assert 9_500 <= transcript.duration <= 12_500, transcript.duration
    assert (await clean.runs.active_run(transcript_id)) is not None


async def test_a_connection_that_does_not_come_back_is_kept_and_processed(
    clean: Services, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "RECONNECT_S", 2.0)
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        track = PacedRecording(audio.decode(RECORDING)[: 16_000 * 3])
        async with live_recording(http, transcript_id, track):
            await track.passed()
        await _status_becomes(clean, transcript_id, {"uploaded", "processing"}, 15)
    assert 2_500 <= (await clean.transcripts.get(transcript_id)).duration <= 3_800


async def test_behind_a_port_mapping_a_recording_uses_only_the_published_ports(
    clean: Services, settings: Settings
) -> None:
    server = msgspec.structs.replace(settings.server, webrtc_port_range="47340-47359")
    app = create_app(msgspec.structs.replace(settings, server=server), services=clean)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        track = PacedRecording(audio.decode(RECORDING)[: 16_000 * 3])
        async with live_recording(http, transcript_id, track) as peer:
            answer = peer.peer.remoteDescription.sdp
            await track.passed()
            peer.stop()
            await _status_becomes(clean, transcript_id, {"uploaded", "processing"}, 20)
    ports = [int(line.split(" ")[5]) for line in answer.splitlines() if line.startswith("a=candidate:")]
    assert ports and all(47340 <= port <= 47359 for port in ports), ports
    assert 2_500 <= (await clean.transcripts.get(transcript_id)).duration <= 3_800
