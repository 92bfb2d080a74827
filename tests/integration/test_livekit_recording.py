"""A room on LiveKit, from "room created" to a transcript whose speakers carry the participants' names (no
mocks): the meeting opens a LiveKit room on the fake with track egress to the moto server's bucket
(LIVEKIT_STORAGE_AWS_*), each participant joins through Reflector's join route with their own identity, the
fake's auto track egress writes each published track (the `make_meeting.py` stand-up's, as OGG/Opus, a
camera track too) and tells the real webhook route of each egress and of the room's end, and a real
`reflector worker` process gathers the tracks, places each by when its egress started and runs them with
the embedded models."""

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from reflector.adapters.storage import S3Storage
from reflector.bootstrap import Services, video_platforms
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import Recording
from reflector.pipelines.tracks import parse_daily_key
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.integration.daily_meeting import PARTICIPANTS, make_daily_meeting
from tests.integration.test_room_recording import speaker_in_script, transcript_of_the_recording
from tests.integration.test_storage import CREDENTIALS, _create_bucket, s3_endpoint  # noqa: F401 - fixture
from tests.integration.workers import WorkerProcess, wait_for_status
from tests.net import serve
from tests.platforms.conftest import livekit  # noqa: F401 - fixture
from tests.platforms.livekit_fake import FakeLiveKit

pytestmark = pytest.mark.slow

SOURCES = {"cam-audio": "microphone", "screen-audio": "screen_share_audio", "video": "camera"}
STARTED_NS = 1_780_000_000_000_000_000  # the first track's first sample


@pytest.fixture
async def on_livekit(
    clean: Services,
    settings: Settings,
    livekit: FakeLiveKit,  # noqa: F811
    s3_endpoint: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Services, S3Storage]]:
    bucket = _create_bucket(s3_endpoint)
    platforms = PlatformSettings(
        livekit_url=livekit.base_url.replace("http://", "ws://"),
        livekit_api_key=livekit.api_key,
        livekit_api_secret=livekit.api_secret,
        livekit_storage_bucket=bucket,
        livekit_storage_access_key_id="testing",
        livekit_storage_secret_access_key="testing",
        livekit_storage_endpoint_url=s3_endpoint,
    )
    for variable, value in {  # the worker's environment: the bucket, and the S3 endpoint and keys to read it
        "LIVEKIT_STORAGE_AWS_BUCKET_NAME": bucket,
        "TRANSCRIPT_STORAGE_AWS_ENDPOINT_URL": s3_endpoint,
        "TRANSCRIPT_STORAGE_AWS_ACCESS_KEY_ID": "testing",
        "TRANSCRIPT_STORAGE_AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(variable, value)
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    services = dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    async with S3Storage(bucket=bucket, endpoint_url=s3_endpoint, **CREDENTIALS) as store:
        yield services, store
    await close_platforms(bound)


def as_ogg(webm: Path) -> Path:
    """A Daily WebM/Opus track's packets as LiveKit's track egress writes audio: Opus in Ogg."""
    ogg = webm.with_suffix(".ogg")
    with av.open(str(webm)) as source, av.open(str(ogg), "w", format="ogg") as out:
        stream = out.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return ogg


async def test_a_livekit_meeting_becomes_a_transcript_whose_speakers_carry_the_participants_names(
    on_livekit: tuple[Services, S3Storage],
    livekit: FakeLiveKit,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    services, bucket = on_livekit
    made = make_daily_meeting(tmp_path / "call")
    async with serve(create_app(services.settings, services=services)) as base, httpx.AsyncClient(base_url=base) as api:
        hook = f"{base}/v1/livekit/webhook"
        room = await services.rooms.create("local", RoomSettings(name="Stand-up", platform="livekit"))
        meeting = await services.meetings.meeting_for(room)
        assert livekit.rooms[meeting.room_name]["_egress"]["tracks"]["s3"]["bucket"] == bucket.bucket

        identities = {}  # who -> the identity LiveKit knows them by, from the link Reflector gave them
        for who, (_, name) in PARTICIPANTS.items():
            joined = await api.post(f"/v1/rooms/{room.name}/meetings/{meeting.id}/join", params={"display_name": name})
            token = parse_qs(urlsplit(joined.json()["room_url"]).query)["token"][0]
            identities[who] = jwt.decode(token, OctKey.import_key(livekit.api_secret)).claims["sub"]
            assert await livekit.joined(hook, meeting.room_name, identities[who], name) == 200

        who_is = {pid: who for who, (pid, _) in PARTICIPANTS.items()}
        keys = []
        for key in made.keys:  # each published track, written by its egress, in the order they started
            track = parse_daily_key(key)
            assert track is not None
            path = made.path_of(key) if track.kind == "video" else as_ogg(made.path_of(key))
            started = STARTED_NS + round(track.offset_s * 1e9)
            identity, source = identities[who_is[track.participant_id]], SOURCES[track.kind]
            keys.append(await livekit.record_track(hook, meeting.room_name, identity, source, path, started))
        assert await livekit.finished(hook, meeting.room_name) == 200
        assert set(livekit.deliveries) == {200}

        began = time.perf_counter()
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        try:
            transcript_id = await transcript_of_the_recording(services, worker)
            transcript = await wait_for_status(services, transcript_id, within_s=300)
        finally:
            worker.stop()
        seconds = time.perf_counter() - began
        assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
        shown = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
        topics = (await api.get(f"/v1/transcripts/{transcript_id}/topics/with-words")).json()

    assert shown["source_kind"] == "room" and shown["room_id"] == room.id and shown["meeting_id"] == meeting.id
    names = {p["speaker"]: p["name"] for p in shown["participants"]}
    assert sorted(names.values()) == ["Alice Martin", "Bob Okafor", "Carol Ng"]
    words = [w for topic in topics for w in topic["words"]]
    right = sum(names[w["speaker"]] == speaker_in_script(made, w) for w in words)
    print(f"\nlivekit recording: {made.duration:.1f} s meeting, room finished to ended in {seconds:.1f} s, "
          f"speaker accuracy {right / len(words):.1%} over {len(words)} words")  # fmt: skip
    assert right / len(words) >= 0.95
    # The room does not store video: the camera track is gone from the bucket, the audio tracks stay.
    assert sorted(await bucket.list_keys("livekit/")) == sorted(k for k in keys if "-camera-" not in k)
    recording = await Recording.select(Recording.status, Recording.track_keys).first()
    assert recording is not None and recording["status"] == "completed"
