"""A client's whole session against the served API and a real worker: upload in chunks, watch the
events, read every format, correct speakers, search, stream the audio, delete."""

import asyncio
import re
from pathlib import Path

import httpx
import msgspec
import pytest
import websockets

from reflector.bootstrap import Services
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess
from tests.paths import REAL

pytestmark = pytest.mark.slow

RECORDING = REAL / "two_speakers_sample.wav"


async def _events_until_ended(url: str, seen: list[dict]) -> None:
    async with websockets.connect(url) as socket:
        async for message in socket:
            event = msgspec.json.decode(message)
            seen.append(event)
            if event["event"] == "STATUS" and event["data"]["value"] in ("ended", "error"):
                return


async def _upload_in_chunks(client: httpx.AsyncClient, transcript_id: str, path: Path, chunks: int) -> None:
    data = await asyncio.to_thread(path.read_bytes)
    size = -(-len(data) // chunks)
    for number in range(chunks):
        response = await client.post(
            f"/v1/transcripts/{transcript_id}/record/upload",
            params={"chunk_number": number, "total_chunks": chunks},
            files={"chunk": (path.name, data[number * size : (number + 1) * size], "audio/wav")},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok"}


async def test_upload_process_watch_read_correct_search_stream_delete(
    clean: Services, settings: Settings, served: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    async with httpx.AsyncClient(base_url=served, timeout=30) as client:
        try:
            transcript_id = (await client.post("/v1/transcripts", json={"name": "Two speakers"})).json()["id"]
            events: list[dict] = []
            ws_url = served.replace("http", "ws", 1) + f"/v1/transcripts/{transcript_id}/events"
            watcher = asyncio.create_task(_events_until_ended(ws_url, events))
            await asyncio.sleep(0.2)  # subscribed before anything happens, so every event arrives live

            # Known before processing, not yet tied to a voice: the recognizer is told to listen for her.
            await client.post(f"/v1/transcripts/{transcript_id}/participants", json={"name": "Nadia"})
            await _upload_in_chunks(client, transcript_id, RECORDING, chunks=3)
            again = await client.post(f"/v1/transcripts/{transcript_id}/process")
            assert again.json() == {"status": "already running"}
            await asyncio.wait_for(watcher, 900)
        finally:
            worker.stop()
        base = f"/v1/transcripts/{transcript_id}"
        transcript = (await client.get(base)).json()
        assert transcript["status"] == "ended", (transcript["error"], worker.log()[-3000:])
        assert re.search(r"transcriber.names .*names=1", worker.log()), worker.log()[-3000:]

        # The events a client draws its page from, in the order it needs them.
        names = [e["event"] for e in events]
        statuses = [e["data"]["value"] for e in events if e["event"] == "STATUS"]
        assert statuses[-2:] == ["processing", "ended"]
        order = [names.index("TOPIC"), names.index("FINAL_TITLE"), len(names) - 1]
        assert names.index("STATUS") < order[0] and order == sorted(order), names
        assert "PROGRESS" in names and "DURATION" in names

        # Every transcript format, and the topics with their words.
        assert transcript["title"] and transcript["transcript"].startswith("Speaker ")
        stamped = (await client.get(base, params={"transcript_format": "text-timestamped"})).json()["transcript"]
        assert stamped.startswith("[00:")
        vtt = (await client.get(base, params={"transcript_format": "webvtt-named"})).json()["transcript"]
        assert vtt.startswith("WEBVTT") and "<v Speaker 1>" in vtt
        segments = (await client.get(base, params={"transcript_format": "json"})).json()["transcript"]
        assert {seg["speaker"] for seg in segments} == {0, 1}
        topics = (await client.get(f"{base}/topics/with-words")).json()
        words = [w for topic in topics for w in topic["words"]]
        assert "chicago" in " ".join(w["text"].lower() for w in words)

        # Name a speaker, rename them, and the text follows.
        diane = (await client.post(f"{base}/participants", json={"name": "Diane", "speaker": 0})).json()
        await client.patch(f"{base}/participants/{diane['id']}", json={"name": "Diane Cole"})
        lines = (await client.get(base)).json()["transcript"].splitlines()
        assert any(line.startswith("Diane Cole: ") for line in lines)

        # Give the first ten seconds to speaker 1, then merge speaker 1 into Diane: one voice left.
        first = (await client.patch(f"{base}/speaker/assign",
                                    json={"speaker": 1, "timestamp_from": 0, "timestamp_to": 10})).json()  # fmt: skip
        assert first == {"status": "ok"}
        segments = (await client.get(base, params={"transcript_format": "json"})).json()["transcript"]
        assert all(seg["speaker"] == 1 for seg in segments if seg["start"] < 10)
        await client.patch(f"{base}/speaker/merge", json={"speaker_from": 1, "speaker_to": 0})
        lines = (await client.get(base)).json()["transcript"].splitlines()
        assert lines and all(line.startswith("Diane Cole: ") for line in lines)

        # Search by a word the meeting contains, with a snippet around it.
        found = (await client.get("/v1/transcripts/search", params={"q": "Chicago"})).json()
        assert [r["id"] for r in found["results"]] == [transcript_id]
        assert any("chicago" in snippet.lower() for snippet in found["results"][0]["search_snippets"])

        # The mp3 in ranges, as a player seeks.
        head = await client.head(f"{base}/audio/mp3")
        size = int(head.headers["content-length"])
        assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes" and size > 10_000
        part = await client.get(f"{base}/audio/mp3", headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206 and len(part.content) == 1000
        assert part.headers["content-range"] == f"bytes 100-1099/{size}"
        whole = await client.get(f"{base}/audio/mp3")
        assert whole.content[100:1100] == part.content
        assert (await client.get(f"{base}/audio/mp3", headers={"Range": f"bytes={size}-"})).status_code == 416

        # Deleted, it is in the trash: gone from the API, kept whole until it is purged.
        assert (await client.delete(base)).json() == {"status": "ok"}
        assert (await client.get(f"{base}/audio/mp3")).status_code == 404
        assert f"transcripts/{transcript_id}/audio.mp3" in await clean.storage.list_keys(
            f"transcripts/{transcript_id}/"
        )
        assert (await client.delete(f"/v1/transcripts/trash/{transcript_id}")).status_code < 300
        assert await clean.storage.list_keys(f"transcripts/{transcript_id}/") == []
