"""A room's recording made into a transcript against the real PostgreSQL and Redis: processed once however
often (and however concurrently) it is asked, a failure retried by the next sweep with the same transcript,
participants named as the platform names them, and a recording it cannot process ignored with a reason."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from arq.jobs import Job

from reflector.bootstrap import Services
from reflector.domain.processing import repository as runs_table
from reflector.domain.processing.jobs import ANALYSIS
from reflector.domain.rooms import platform_events
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.platform_events import RecordingReady
from reflector.domain.rooms.recordings import CLAIM_STALE_S, RecordingNotProcessable, RecordingService
from reflector.domain.rooms.tables import Recording
from tests.meeting_platform import room_with_meeting

ALICE, BOB = "8f0c2a5e-1b7d-4c3e-9a6f-2d4b8e1c7a90", "0b6e9d4c-3a2f-4e1d-8c7b-5a9f1e2d3c4b"
FOLDER = "acme.daily.co/standup"
KEYS = [  # Bob's track starts first, so Bob is speaker 0; the video is no speaker
    f"{FOLDER}/1780000000000-{ALICE}-cam-audio-1780000002000.webm",
    f"{FOLDER}/1780000000000-{BOB}-cam-audio-1780000001000.webm",
    f"{FOLDER}/1780000000000-{ALICE}-cam-video-1780000000000.webm",
]


class NamingPlatform:
    """Daily's participants of a recording; fails its first `failures` answers, as a platform away would."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.asked = 0

    async def create_meeting(self, room: object, end: object) -> object:
        raise AssertionError("no meeting is opened here")

    async def recording_participants(self, recording_id: str) -> dict[str, str]:
        self.asked += 1
        await asyncio.sleep(0.02)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Daily is not answering")
        return {ALICE: "Alice Martin", BOB: "Bob Okafor"}


async def ready(services: Services, recording_id: str, keys: list[str] | None = KEYS) -> str:
    """A recording.ready-to-download received for the room's meeting: the pending recording's id."""
    _, meeting = await room_with_meeting(services, "alice", f"room-{recording_id}")
    change = RecordingReady(recording_id, meeting.room_name, FOLDER, keys, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert await platform_events._recording("daily", change) == "processed"
    row = await Recording.select(Recording.id).where(Recording.platform_recording_id == recording_id).first()
    assert row is not None
    return row["id"]


def recordings(services: Services, platform: NamingPlatform) -> RecordingService:
    return RecordingService(services.transcripts, services.runs, {"daily": platform})  # type: ignore[dict-item]


async def test_a_recording_is_processed_once_however_often_it_is_asked(clean: Services) -> None:
    platform = NamingPlatform()
    service = recordings(clean, platform)
    recording_id = await ready(clean, "rec-1")

    made = await asyncio.gather(*(service.process(recording_id) for _ in range(5)))

    [transcript_id] = [m for m in made if m is not None]
    assert platform.asked == 1
    transcript = await clean.transcripts.get(transcript_id)
    assert transcript.source_kind == "room" and transcript.user_id == "alice"
    assert transcript.name == "room-rec-1 2026-06-01 12:00 UTC"
    participants = await clean.transcripts.participants(transcript_id)
    assert sorted((p.speaker, p.name) for p in participants) == [(0, "Bob Okafor"), (1, "Alice Martin")]
    run = await runs_table.latest_for(transcript_id)
    assert run is not None and run.kind == "multitrack" and run.status == "queued"
    assert run.options["tracks"]["keys"] == KEYS and run.options["diarize"] is False
    assert run.options["tracks"]["video_folder"] == FOLDER  # the room does not store video
    assert (await service.get(recording_id)).status == "completed"  # type: ignore[union-attr]
    assert await service.process_waiting() == []


async def test_a_failed_recording_is_retried_by_the_next_sweep_with_its_transcript(clean: Services) -> None:
    platform = NamingPlatform(failures=1)
    service = recordings(clean, platform)
    recording_id = await ready(clean, "rec-2")
    with pytest.raises(ConnectionError):
        await service.process(recording_id)
    failed = await service.get(recording_id)
    assert failed is not None and failed.status == "failed" and failed.transcript_id is None

    [transcript_id] = await service.process_waiting()

    again = await service.get(recording_id)
    assert again is not None and again.status == "completed" and again.transcript_id == transcript_id
    assert [p.name for p in await clean.transcripts.participants(transcript_id)] == ["Bob Okafor", "Alice Martin"]


async def test_a_recording_without_tracks_is_ignored_with_a_reason(clean: Services) -> None:
    service = recordings(clean, NamingPlatform())
    recording_id = await ready(clean, "rec-3", keys=None)
    with pytest.raises(RecordingNotProcessable, match="one track per participant"):
        await service.process(recording_id)
    assert (await service.get(recording_id)).status == "ignored"  # type: ignore[union-attr]
    assert await service.process_waiting() == []  # not tried again


async def test_a_multitrack_run_goes_on_to_analysis_once_its_speech_steps_are_done(clean: Services) -> None:
    [transcript_id] = [await recordings(clean, NamingPlatform()).process(await ready(clean, "rec-4"))]
    assert transcript_id is not None
    run = await runs_table.latest_for(transcript_id)
    assert run is not None
    for step in ("decode", "transcribe", "assemble"):  # nothing is diarized
        await runs_table.record_step(run.id, step, 1.0)

    await clean.runs.speech_done(run.id)

    info = await Job(f"{run.id}:analysis:0", clean.redis, _queue_name=ANALYSIS.queue_name).info()
    assert info is not None and info.function == "run_analysis"


async def test_reprocessing_a_room_transcript_runs_its_tracks_again(clean: Services) -> None:
    transcript_id = await recordings(clean, NamingPlatform()).process(await ready(clean, "rec-5"))
    assert transcript_id is not None
    first = await runs_table.latest_for(transcript_id)
    assert first is not None
    await clean.runs.lifecycle.failed(first, "The transcription step failed.")

    again, queued = await clean.runs.reprocess(transcript_id)

    assert queued and again.id != first.id and again.kind == "multitrack"
    assert again.options["tracks"] == first.options["tracks"]
    assert [p.name for p in await clean.transcripts.participants(transcript_id)] == ["Bob Okafor", "Alice Martin"]


async def test_a_recording_left_processing_by_a_process_that_died_is_taken_up_again(clean: Services) -> None:
    service = recordings(clean, NamingPlatform())
    recording_id = await ready(clean, "rec-6")
    assert await repo.claim_recording(recording_id, CLAIM_STALE_S) is not None  # and then the process died
    assert await service.process_waiting() == []  # too recent: another process may still be at it

    long_ago = datetime.now(UTC) - timedelta(seconds=CLAIM_STALE_S + 1)
    await Recording.update({Recording.claimed_at: long_ago}).where(Recording.id == recording_id)
    [transcript_id] = await service.process_waiting()

    done = await service.get(recording_id)
    assert done is not None and done.status == "completed" and done.transcript_id == transcript_id
