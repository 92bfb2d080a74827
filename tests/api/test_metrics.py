"""GET /metrics: request latency by route template, and processing and queue figures read at scrape time."""

import time

from arq.constants import in_progress_key_prefix
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from reflector.adapters.queue import count_finished
from reflector.bootstrap import Services
from reflector.domain.processing import repository as runs
from reflector.domain.processing.jobs import SPEECH
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.domain.webhooks.jobs import DELIVER


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_request_latency_is_labelled_by_route_template(api: AsyncClient) -> None:
    created = (await api.post("/v1/transcripts", json={"name": "Standup"})).json()
    await api.get(f"/v1/transcripts/{created['id']}/topics")
    await api.get(f"/v1/transcripts/{created['id']}/topics")
    await api.get("/v1/transcripts/no-such-id/topics")

    response = await api.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    route = "/v1/transcripts/{transcript_id}/topics"
    count = "reflector_http_request_duration_seconds_count"
    assert samples[(count, (("method", "GET"), ("route", route), ("status", "200")))] == 2
    assert samples[(count, (("method", "GET"), ("route", route), ("status", "404")))] == 1
    assert samples[(count, (("method", "POST"), ("route", "/v1/transcripts"), ("status", "200")))] == 1
    assert created["id"] not in response.text  # ids never become label values
    assert "/metrics" not in (await api.get("/schema/openapi.json")).json()["paths"]


async def test_processing_figures_come_from_stored_runs_and_queues(clean: Services, api: AsyncClient) -> None:
    hour_long = await clean.transcripts.create(NewTranscript(name="All hands"))
    await clean.transcripts.update(hour_long.id, TranscriptChanges(duration=3_600_000))
    done = await runs.insert(hour_long.id, {})
    await runs.update(done.id, {"status": "succeeded"})
    await runs.record_step(done.id, "transcribe", 180.0)
    await runs.record_step(done.id, "diarize", 0.4)
    failed = await runs.insert(hour_long.id, {})
    await runs.update(failed.id, {"status": "failed"})
    await runs.record_step(failed.id, "transcribe", 60.0)
    await runs.insert(hour_long.id, {})  # still queued

    samples = _samples((await api.get("/metrics")).text)

    runs_by_status = {status: samples[("reflector_pipeline_runs", (("status", status),))] for status in
                      ("queued", "running", "succeeded", "failed")}  # fmt: skip
    assert runs_by_status == {"queued": 1, "running": 0, "succeeded": 1, "failed": 1}
    transcribe = (("step", "transcribe"),)
    assert samples[("reflector_step_duration_seconds_count", transcribe)] == 2
    assert samples[("reflector_step_duration_seconds_sum", transcribe)] == 240.0
    assert samples[("reflector_step_duration_seconds_bucket", (("le", "60.0"), ("step", "transcribe")))] == 1
    assert samples[("reflector_step_duration_seconds_bucket", (("le", "300.0"), ("step", "transcribe")))] == 2
    assert samples[("reflector_step_duration_seconds_bucket", (("le", "0.5"), ("step", "diarize")))] == 1
    # 240 s of transcription over two hours of audio; only the succeeded run's hour counts as processed.
    assert samples[("reflector_step_real_time_factor", transcribe)] == 240 / 7200
    assert samples[("reflector_audio_processed_hours_total", ())] == 1.0


async def test_room_figures_and_the_periodic_jobs_last_runs(clean: Services, api: AsyncClient) -> None:
    from reflector.domain.ids import now
    from reflector.domain.rooms import repository as rooms_table
    from tests.meeting_platform import room_with_meeting

    _, empty = await room_with_meeting(clean, "alice", "standup")
    _, busy = await room_with_meeting(clean, "alice", "review")
    await rooms_table.set_clients(busy.id, count=3, delta=0)
    await rooms_table.save_recording("rec-1", empty.id, "folder", ["folder/track"], now())
    before = (await clean.redis.time())[0]

    await clean.meetings.sweep(force=True)  # what a worker's reaper loop does
    samples = _samples((await api.get("/metrics")).text)

    assert samples[("reflector_meetings_active", (("occupied", "true"),))] == 1
    assert samples[("reflector_meetings_active", (("occupied", "false"),))] == 1
    assert samples[("reflector_room_recordings", (("status", "pending"),))] == 1
    last = samples[("reflector_periodic_job_last_run_timestamp_seconds", (("job", "meetings"),))]
    assert before - 1 <= last <= before + 60
    assert ("reflector_periodic_job_last_run_timestamp_seconds", (("job", "calendars"),)) not in samples


async def test_queue_figures_for_an_autoscaler(clean: Services, api: AsyncClient) -> None:
    now = time.time()
    # Three speech jobs queued 30, 20 and 10 s ago, the oldest taken by a worker; one deferred to a minute on.
    for job_id, enqueued in (("a", now - 30), ("b", now - 20), ("c", now - 10)):
        await clean.queue.enqueue(SPEECH, job_id, job_id=job_id)
        await clean.redis.zadd("reflector:speech", {job_id: enqueued * 1000})
    await clean.redis.set(f"{in_progress_key_prefix}a", b"1")
    await clean.queue.enqueue(DELIVER, "d", 1, job_id="d", defer_s=60)
    for job_id in ("e", "f", "g"):  # ended, so no longer queued
        await count_finished(clean.redis, "reflector:speech", job_id)
    await count_finished(clean.redis, "reflector:speech", "b")  # still queued: handed back to be tried again

    samples = _samples((await api.get("/metrics")).text)

    def jobs(queue: str, state: str) -> float:
        return samples[("reflector_queue_jobs", (("queue", f"reflector:{queue}"), ("state", state)))]

    assert (jobs("speech", "waiting"), jobs("speech", "running"), jobs("speech", "deferred")) == (2, 1, 0)
    assert (jobs("webhooks", "waiting"), jobs("webhooks", "running"), jobs("webhooks", "deferred")) == (0, 0, 1)
    assert jobs("llm", "waiting") == 0
    # The oldest job no worker has: b, queued 20 s before the scrape (which took at most a few seconds).
    age = samples[("reflector_queue_oldest_job_age_seconds", (("queue", "reflector:speech"),))]
    assert 19 <= age <= 20 + (time.time() - now)
    assert samples[("reflector_queue_oldest_job_age_seconds", (("queue", "reflector:webhooks"),))] == 0
    assert samples[("reflector_queue_jobs_finished_total", (("queue", "reflector:speech"),))] == 3
    assert samples[("reflector_queue_jobs_finished_total", (("queue", "reflector:llm"),))] == 0
