"""The live recording policy against the real PostgreSQL and Redis: which transcript a recording may go
into, one recording per transcript across processes, and what becomes of a recording when it ends."""

import asyncio

import pytest

from reflector.bootstrap import Services
from reflector.domain.live.recordings import AlreadyRecorded, LiveRecordingPolicy, RecordingInProgress
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges, TranscriptLocked
from reflector.pipelines import audio
from reflector.pipelines.wav_writer import GrowingWav
from reflector.settings import Settings
from tests.paths import REAL


async def _new(services: Services, name: str = "Live") -> str:
    return (await services.transcripts.create(NewTranscript(name=name))).id


def _other_process(services: Services, settings: Settings) -> LiveRecordingPolicy:
    """The policy as a second web process builds it: its own object, the same Redis and database."""
    return LiveRecordingPolicy(
        services.redis, services.feed, services.transcripts, services.runs, settings.data_dir / "live"
    )


async def test_a_locked_transcript_is_not_recorded_into(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.transcripts.update(transcript_id, TranscriptChanges(locked=True))
    with pytest.raises(TranscriptLocked, match="Transcript is locked"):
        await clean.recording_policy.begin(transcript_id, "web-1")
    assert await clean.redis.get(f"reflector:recording:{transcript_id}") is None


async def test_a_transcript_that_has_its_recording_is_not_recorded_into_again(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.transcripts.set_status(transcript_id, "uploaded")
    with pytest.raises(AlreadyRecorded, match="already has its recording"):
        await clean.recording_policy.begin(transcript_id, "web-1")
    assert AlreadyRecorded.status == 409


async def test_one_recording_per_transcript_across_processes(clean: Services, settings: Settings) -> None:
    transcript_id = await _new(clean)
    first, second = clean.recording_policy, _other_process(clean, settings)
    path = await first.begin(transcript_id, "web-1")
    assert path == settings.data_dir / "live" / f"{transcript_id}.wav"
    # Taken, not yet started (the offer is being answered): the lock alone refuses a second recorder.
    with pytest.raises(RecordingInProgress, match="already being recorded"):
        await second.begin(transcript_id, "web-2")
    await first.started(transcript_id)
    transcript = await clean.transcripts.get(transcript_id)
    assert (transcript.status, transcript.source_kind) == ("recording", "live")
    with pytest.raises(RecordingInProgress):
        await second.begin(transcript_id, "web-2")
    assert RecordingInProgress.status == 409
    # A browser coming back to the second process is sent to the first, which holds the recording.
    assert await second.holder(transcript_id) == "web-1"


async def test_a_refused_offer_leaves_the_transcript_free(clean: Services, settings: Settings) -> None:
    transcript_id = await _new(clean)
    await clean.recording_policy.begin(transcript_id, "web-1")
    await clean.recording_policy.abandon(transcript_id)
    await _other_process(clean, settings).begin(transcript_id, "web-2")


async def test_a_finished_recording_is_kept_queued_and_frees_the_transcript(clean: Services) -> None:
    transcript_id = await _new(clean)
    policy = clean.recording_policy
    path = await policy.begin(transcript_id, "web-1")
    await policy.started(transcript_id)
    wav = GrowingWav(path, audio.SAMPLE_RATE)
    wav.append(audio.decode(REAL / "jfk.flac")[: audio.SAMPLE_RATE * 3])
    wav.close()
    await policy.keep(transcript_id, path, wav.seconds)
    transcript = await clean.transcripts.get(transcript_id)
    assert transcript.status == "uploaded" and 2_500 <= transcript.duration <= 3_500, transcript
    assert await clean.runs.active_run(transcript_id) is not None
    assert await clean.redis.get(f"reflector:recording:{transcript_id}") is None
    assert not path.exists()


async def test_a_recording_without_audio_leaves_the_transcript_idle(clean: Services) -> None:
    transcript_id = await _new(clean)
    policy = clean.recording_policy
    path = await policy.begin(transcript_id, "web-1")
    await policy.started(transcript_id)
    GrowingWav(path, audio.SAMPLE_RATE).close()
    await policy.keep(transcript_id, path, 0.0)
    assert (await clean.transcripts.get(transcript_id)).status == "idle"
    assert await clean.runs.active_run(transcript_id) is None


async def test_recover_keeps_only_recordings_no_process_holds(clean: Services) -> None:
    orphaned, held_elsewhere = await _new(clean, "Orphaned"), await _new(clean, "Held")
    policy = clean.recording_policy
    speech = audio.decode(REAL / "jfk.flac")[: audio.SAMPLE_RATE * 2]
    for transcript_id in (orphaned, held_elsewhere):
        path = await policy.begin(transcript_id, "web-1")
        await policy.started(transcript_id)
        wav = GrowingWav(path, audio.SAMPLE_RATE)
        wav.append(speech)
        wav.close()
    await clean.redis.delete(f"reflector:recording:{orphaned}")  # its process died: the lock expired
    assert await policy.recover() == [orphaned]
    assert (await clean.transcripts.get(orphaned)).status == "uploaded"
    assert (await clean.transcripts.get(held_elsewhere)).status == "recording"
    assert policy.path_of(held_elsewhere).exists()
    await policy.keep(held_elsewhere, policy.path_of(held_elsewhere), 2.0)


async def test_web_processes_starting_together_recover_an_orphaned_recording_once(
    clean: Services, settings: Settings
) -> None:
    orphaned = await _new(clean, "Orphaned")
    policy = clean.recording_policy
    path = await policy.begin(orphaned, "web-1")
    await policy.started(orphaned)
    wav = GrowingWav(path, audio.SAMPLE_RATE)
    wav.append(audio.decode(REAL / "jfk.flac")[: audio.SAMPLE_RATE * 2])
    wav.close()
    await clean.redis.delete(f"reflector:recording:{orphaned}")  # its process died: the lock expired

    starting = [_other_process(clean, settings) for _ in range(3)]
    recovered = await asyncio.gather(*(process.recover() for process in starting))

    assert sorted(recovered) == [[], [], [orphaned]]
    assert (await clean.transcripts.get(orphaned)).status == "uploaded"
    assert await clean.runs.active_run(orphaned) is not None
    assert await clean.redis.get(f"reflector:recording:{orphaned}") is None
