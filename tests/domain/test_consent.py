"""A participant who declines to be recorded, against the real PostgreSQL and Redis and a real store standing
for the platform's bucket: once the meeting's recording is processed, every audio and video object of it is
deleted (each participant's track, the screen-share audio, the video, in the platform's bucket; the mp3,
waveform and upload in ours), the transcript keeps its text and says why; nothing is deleted while it is
still processed, nor in a meeting where everyone agreed."""

from datetime import timedelta

import pytest

from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, RoomSettings
from reflector.domain.rooms.tables import Recording
from reflector.domain.transcripts.models import NewTranscript
from reflector.domain.transcripts.service import audio_key, steps_prefix, upload_key, waveform_key

DOMAIN = "reflector-test"


class Recorded:
    """A room's meeting whose Daily raw-tracks recording is in the bucket and has a transcript."""

    def __init__(self, meeting: MeetingView, recording_id: str, transcript_id: str, folder: str, keys: list[str]):
        self.meeting = meeting
        self.recording_id = recording_id
        self.transcript_id = transcript_id
        self.folder = folder
        self.keys = keys  # every object of the recording in the bucket


async def recorded(services: Services, name: str, status: str = "ended") -> Recorded:
    room = await services.rooms.create("alice", RoomSettings(name=name, platform="daily"))
    meeting = await rooms_table.insert_meeting(
        {"room_id": room.id, "platform": "daily", "room_name": f"{name}-20261206120000", "end_date": now()}
    )
    folder = f"{DOMAIN}/{meeting.room_name}"
    started = 1765022400000
    tracks = [
        f"{folder}/{started}-0b6e5b1a-1111-4d6f-9f5e-000000000001-cam-audio-{started + 1200}",
        f"{folder}/{started}-0b6e5b1a-2222-4d6f-9f5e-000000000002-cam-audio-{started + 5400}",
        f"{folder}/{started}-0b6e5b1a-2222-4d6f-9f5e-000000000002-screen-audio-{started + 9000}",
    ]
    video = f"{folder}/{started}-0b6e5b1a-1111-4d6f-9f5e-000000000001-cam-video-{started + 1200}"
    for key in [*tracks, video]:
        await services.storage.put_bytes(key, b"webm")
    recording_id = f"rec-{name}"
    await rooms_table.save_recording(recording_id, meeting.id, folder, tracks, now() - timedelta(hours=1))
    recording = await Recording.select(Recording.id).where(Recording.platform_recording_id == recording_id).first()
    assert recording is not None
    transcript = await services.transcripts.create(
        NewTranscript(
            name=f"{name} meeting", source_kind="room", user_id="alice", room_id=room.id, meeting_id=meeting.id
        )
    )
    for key in (audio_key(transcript.id), waveform_key(transcript.id), upload_key(transcript.id, ".webm")):
        await services.storage.put_bytes(key, b"audio")
    await services.storage.put_bytes(f"{steps_prefix(transcript.id)}assemble.json", b"{}")  # its words: kept
    await rooms_table.update_recording(recording["id"], {"transcript_id": transcript.id, "status": "completed"})
    await services.transcripts.set_status(transcript.id, status)  # type: ignore[arg-type]
    return Recorded(meeting, recording["id"], transcript.id, folder, [*tracks, video])


async def left_in_bucket(services: Services, folder: str) -> list[str]:
    return await services.storage.list_keys(folder + "/")


@pytest.mark.parametrize("anonymous", [False, True])
async def test_one_declined_answer_deletes_every_audio_and_video_of_the_meeting_once_processed(
    clean: Services, anonymous: bool
) -> None:
    services = clean
    meeting = await recorded(services, "standup", status="processing")
    await services.meetings.consent(meeting.meeting.id, "alice", True)
    await services.meetings.consent(meeting.meeting.id, None if anonymous else "bob", False, "browser-1")
    bucket = services.storage

    assert await services.recordings.forget_declined(bucket) == []  # still being processed: it waits
    assert sorted(await left_in_bucket(services, meeting.folder)) == sorted(meeting.keys)
    await services.transcripts.set_status(meeting.transcript_id, "ended")

    assert await services.recordings.forget_declined(bucket) == [meeting.recording_id]
    assert await left_in_bucket(services, meeting.folder) == []  # tracks, screen-share audio and video
    kept = await services.storage.list_keys(f"transcripts/{meeting.transcript_id}/")
    assert kept == [f"{steps_prefix(meeting.transcript_id)}assemble.json"]  # no mp3, waveform or upload
    transcript = await services.transcripts.get(meeting.transcript_id)
    assert transcript.audio_deleted and transcript.name == "standup meeting" and transcript.status == "ended"
    recording = await rooms_table.get_recording(meeting.recording_id)
    assert recording is not None and recording.status == "completed"
    assert await services.recordings.forget_declined(bucket) == []  # once


async def test_a_meeting_where_everyone_agreed_keeps_its_recording(clean: Services) -> None:
    services = clean
    agreed = await recorded(services, "agreed")
    changed_mind = await recorded(services, "changed")
    await services.meetings.consent(agreed.meeting.id, "bob", True)
    await services.meetings.consent(agreed.meeting.id, None, True, "browser-1")
    await services.meetings.consent(changed_mind.meeting.id, "bob", False)
    await services.meetings.consent(changed_mind.meeting.id, "bob", True)  # the latest answer counts

    assert await services.recordings.forget_declined(services.storage) == []
    for meeting in (agreed, changed_mind):
        assert sorted(await left_in_bucket(services, meeting.folder)) == sorted(meeting.keys)
        assert not (await services.transcripts.get(meeting.transcript_id)).audio_deleted


async def test_a_late_decline_still_deletes_and_a_deleted_transcript_does_not_stop_it(clean: Services) -> None:
    services = clean
    meeting = await recorded(services, "late")
    await services.transcripts.delete(meeting.transcript_id)
    await services.meetings.consent(meeting.meeting.id, "bob", False)  # after processing ended
    assert await services.recordings.forget_declined(services.storage) == [meeting.recording_id]
    assert await left_in_bucket(services, meeting.folder) == []
