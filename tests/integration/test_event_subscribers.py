"""Many WebSocket subscribers while recordings are processed (issue 13, R6): each hears every stored event
of its transcript once, in the order of the log, whether it joined before, during or after the run; and
an event that lands between a socket's subscription and its reading of the log is sent exactly once."""

import asyncio
import random
from pathlib import Path

import pytest

from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.transcripts import repository
from reflector.domain.transcripts.models import NewTranscript
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.integration.subscribers import difference, hear_until_ended
from tests.integration.workers import WorkerProcess
from tests.paths import REAL

SUBSCRIBERS = 40
RECORDINGS = 2


async def test_every_subscriber_hears_each_stored_event_once_in_order_while_recordings_run(
    clean: Services, served: str, settings: Settings, tmp_path: Path
) -> None:
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        ids = [(await clean.transcripts.create(NewTranscript(name=f"R6 {i}", user_id="local"))).id for i in range(2)]
        rng = random.Random(6)
        # Joining before the upload, during the run and after its end: replay, live, and the seam between.
        listening = [
            asyncio.create_task(hear_until_ended(served, ids[i % RECORDINGS], rng.uniform(0, 25), within_s=300))
            for i in range(SUBSCRIBERS)
        ]
        await asyncio.sleep(0.5)
        for transcript_id in ids:
            await clean.transcripts.store_upload(transcript_id, REAL / "jfk.flac")
            await clean.runs.request(transcript_id, PipelineOptions(summarize=False))
        heard = await asyncio.gather(*listening)
    finally:
        worker.stop()
    stored = {transcript_id: await clean.transcripts.events(transcript_id) for transcript_id in ids}
    assert all(events[-1] == ("STATUS", {"value": "ended"}) for events in stored.values()), worker.log()[-3000:]
    problems = [difference(events, stored[ids[i % RECORDINGS]]) for i, events in enumerate(heard)]
    assert problems == [None] * SUBSCRIBERS, [p for p in problems if p]


@pytest.mark.parametrize("published_before_the_read", [True, False])
async def test_an_event_landing_between_the_subscription_and_the_log_read_is_sent_once(
    clean: Services, served: str, monkeypatch: pytest.MonkeyPatch, published_before_the_read: bool
) -> None:
    transcripts = clean.transcripts
    transcript_id = (await transcripts.create(NewTranscript(name="Seam", user_id="local"))).id
    await transcripts.set_status(transcript_id, "processing")
    read_log = transcripts.event_log
    late: list[tuple[int, dict[str, float]]] = []
    read = asyncio.Event()

    async def event_log_after_a_landing(wanted: str) -> list:
        # The socket is subscribed by now: an event stored (and maybe published) just before the log is
        # read is in the log and on the channel both.
        data = {"duration": 42.0}
        if published_before_the_read:
            await transcripts.emit(wanted, parse("DURATION", data))
        else:
            late.append((await repository.append_event(wanted, "DURATION", data), data))
        log = await read_log(wanted)
        read.set()
        return log

    monkeypatch.setattr(transcripts, "event_log", event_log_after_a_landing)
    listening = asyncio.create_task(hear_until_ended(served, transcript_id, 0, within_s=30))
    await asyncio.wait_for(read.wait(), 30)
    for event_id, data in late:  # stored before the read, published after it
        await clean.bus.publish(f"ts:{transcript_id}", "DURATION", data, event_id)
    await transcripts.set_status(transcript_id, "ended")

    heard = await listening
    assert heard == [("STATUS", {"value": "processing"}), ("DURATION", {"duration": 42.0}),
                     ("STATUS", {"value": "ended"})]  # fmt: skip
    assert difference(heard, await transcripts.events(transcript_id)) is None
