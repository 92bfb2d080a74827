"""The trash and retention: a deleted transcript goes to its owner's trash (hidden as a deleted one, the
owner told as before), comes back intact when restored, and is purged after TRASH_DAYS by the sweep with
every object of it gone from the store and the platform's recordings bucket (local directory and S3 on
moto's real server, checked by listing them) and its rows gone; a room's "keep audio N days" deletes the
audio of its older transcripts only; a room's deletion keeps its transcripts, detached. Callers are people
with API keys and anonymous visitors, on an app with accounts (AUTH_BACKEND=oidc; keys need no provider)."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from reflector.adapters.events import user_channel
from reflector.adapters.storage import LocalStorage, S3Storage, Storage
from reflector.bootstrap import Services, wire
from reflector.domain.auth.models import Caller, Identity
from reflector.domain.ids import now
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.tables import Recording
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript, TranscriptNotFound
from reflector.domain.transcripts.service import audio_key, steps_prefix, waveform_key
from reflector.domain.transcripts.tables import Participant, Topic, Transcript, TranscriptEvent
from reflector.settings import RetentionSettings, Settings, StorageSettings
from reflector.web.app import create_app
from tests.integration.test_storage import CREDENTIALS, _create_bucket, s3_endpoint  # noqa: F401 - fixture
from tests.integration.workers import WorkerProcess

MP3 = b"ID3" + bytes(range(256)) * 40


@dataclass
class People:
    http: httpx.AsyncClient
    services: Services
    owner_id: str
    owner: dict[str, str]
    other: dict[str, str]


async def _key_of(services: Services, email: str) -> tuple[str, dict[str, str]]:
    user = await services.auth.user_for_identity(Identity(sub=email, email=email, name=email.split("@")[0]))
    return user.id, {"X-API-Key": (await services.auth.create_key(user.id, "trash")).key}


@pytest.fixture
async def people(clean: Services, settings: Settings) -> AsyncIterator[People]:
    accounts = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, backend="oidc", secret_key="x" * 32)
    )
    transport = httpx.ASGITransport(app=create_app(accounts, services=clean))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        owner_id, owner = await _key_of(clean, "owner@example.org")
        _, other = await _key_of(clean, "other@example.org")
        yield People(http, clean, owner_id, owner, other)


async def _meeting(services: Services, owner_id: str | None, store: Storage | None = None, **fields: object) -> str:
    """A finished transcript with topics, named speakers and every object a run leaves in the store."""
    store = store or services.storage
    created = await services.transcripts.create(NewTranscript(name="Budget review", user_id=owner_id, **fields))  # type: ignore[arg-type]
    tid = created.id
    await transcripts_table.update(tid, {"title": "Budget review", "status": "ended", "duration": 4000})
    words = [
        {"text": "We", "start": 0.0, "end": 0.3, "speaker": 0},
        {"text": "agree.", "start": 0.3, "end": 0.9, "speaker": 1},
    ]
    await services.transcripts.replace_topics(
        tid, [{"title": "Numbers", "summary": "They agree.", "timestamp": 0.0, "duration": 0.9, "words": words}]
    )
    await services.editor.add_participant(tid, "Ana", 0)
    await services.editor.add_participant(tid, "Bo", 1)
    await store.put_bytes(f"transcripts/{tid}/upload.webm", b"the recording")
    await store.put_bytes(audio_key(tid), MP3)
    await store.put_bytes(waveform_key(tid), b"[0.1, 0.5, 0.2]")
    await store.put_bytes(f"{steps_prefix(tid)}assemble.json", b"[]")
    return tid


async def _tracks_of(bucket: Storage, tid: str, folder: str) -> list[str]:
    """A Daily raw-tracks recording of the transcript in the platform's bucket: two audio tracks, a video."""
    keys = [f"{folder}/1700000000000-p1-cam-audio-1.webm", f"{folder}/1700000000000-p2-cam-audio-2.webm"]
    for key in [*keys, f"{folder}/1700000000000-p1-cam-video-3.webm"]:
        await bucket.put_bytes(key, b"track " + key.encode())
    await Recording(
        platform_recording_id=f"rec-{tid}", object_key=folder, track_keys=keys, status="completed", transcript_id=tid
    ).save()
    return keys


async def _rows_of(tid: str) -> int:
    counts = [await table.count().where(table.transcript_id == tid) for table in (Topic, Participant, TranscriptEvent)]
    return await Transcript.count().where(Transcript.id == tid) + sum(counts)


async def test_a_deleted_transcript_is_hidden_and_comes_back_intact(people: People) -> None:
    http, owner, services = people.http, people.owner, people.services
    tid = await _meeting(services, people.owner_id)
    base = f"/v1/transcripts/{tid}"
    before = {
        path: (await http.get(f"{base}{path}", headers=owner)).json() for path in ("", "/topics", "/participants")
    }
    told = services.redis.pubsub()
    await told.subscribe(user_channel(people.owner_id))

    deleted = await http.delete(base, headers=owner)
    assert (deleted.status_code, deleted.json()) == (200, {"status": "ok"})  # Reflector's answer

    # Its owner's channel hears TRANSCRIPT_DELETED as before.
    heard = []
    for _ in range(20):
        message = await told.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message:
            heard.append(msgspec.json.decode(message["data"]))
            break
    await told.aclose()
    assert heard and heard[0]["event"] == "TRANSCRIPT_DELETED" and heard[0]["data"] == {"id": tid}
    # As good as deleted: no read, list, search or audio finds it.
    for path in ("", "/topics", "/participants", "/audio/mp3", "/audio/waveform"):
        assert (await http.get(f"{base}{path}", headers=owner)).status_code == 404, path
    assert (await http.get("/v1/transcripts", headers=owner)).json()["total"] == 0
    assert (await http.get("/v1/transcripts/search", params={"q": "agree"}, headers=owner)).json()["total"] == 0
    assert (await http.patch(base, json={"title": "x"}, headers=owner)).status_code == 404

    trash = (await http.get("/v1/transcripts/trash", headers=owner)).json()
    assert [t["id"] for t in trash] == [tid] and trash[0]["title"] == "Budget review"
    assert trash[0]["purge_at"] > trash[0]["deleted_at"]

    restored = await http.post(f"{base}/restore", headers=owner)
    assert restored.status_code == 200 and restored.json()["id"] == tid
    after = {path: (await http.get(f"{base}{path}", headers=owner)).json() for path in ("", "/topics", "/participants")}
    # All as it was; its change_seq moved on, so a client syncing by change_seq fetches it again.
    assert after[""].pop("change_seq") > before[""].pop("change_seq")
    assert after == before
    mp3 = await http.get(f"{base}/audio/mp3", headers=owner)
    assert (mp3.status_code, mp3.content) == (200, MP3)
    assert (await http.get(f"{base}/audio/waveform", headers=owner)).json() == {"data": [0.1, 0.5, 0.2]}
    assert (await http.get("/v1/transcripts/trash", headers=owner)).json() == []
    assert (await http.post(f"{base}/restore", headers=owner)).status_code == 404  # not in the trash any more


async def test_no_one_else_sees_restores_or_purges_anothers_trash(people: People) -> None:
    http, services = people.http, people.services
    tid = await _meeting(services, people.owner_id)
    await transcripts_table.update(tid, {"share_mode": "public"})  # shared while it lived: no matter now
    assert (await http.delete(f"/v1/transcripts/{tid}", headers=people.other)).status_code == 403
    assert (await http.delete(f"/v1/transcripts/{tid}", headers=people.owner)).status_code == 200

    assert (await http.get("/v1/transcripts/trash", headers=people.other)).json() == []
    for who, status in ((people.other, 404), ({}, 401)):
        assert (await http.get("/v1/transcripts/trash", headers=who)).status_code == (200 if who else 401)
        assert (await http.post(f"/v1/transcripts/{tid}/restore", headers=who)).status_code == status
        assert (await http.delete(f"/v1/transcripts/trash/{tid}", headers=who)).status_code == status
        assert (await http.get(f"/v1/transcripts/{tid}", headers=who)).status_code == 404
    assert (await http.get("/transcripts/trash", headers=people.other)).text.count("Budget review") == 0
    # Still there, whole, for its owner.
    assert [t["id"] for t in (await http.get("/v1/transcripts/trash", headers=people.owner)).json()] == [tid]
    assert await services.storage.exists(audio_key(tid))


@pytest.fixture(params=["local", "s3"])
async def stores(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[tuple[Storage, Storage]]:  # type: ignore[no-untyped-def]
    """The transcript store and the platform's recordings bucket, both local or both S3 (moto)."""
    if request.param == "local":
        async with LocalStorage(tmp_path / "store") as store, LocalStorage(tmp_path / "bucket") as bucket:
            yield store, bucket
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    async with (
        S3Storage(bucket=_create_bucket(endpoint), endpoint_url=endpoint, **CREDENTIALS) as store,
        S3Storage(bucket=_create_bucket(endpoint), endpoint_url=endpoint, **CREDENTIALS) as bucket,
    ):
        yield store, bucket


async def test_the_sweep_purges_expired_trash_and_leaves_nothing_of_it(
    clean: Services, settings: Settings, stores: tuple[Storage, Storage]
) -> None:
    store, bucket = stores
    thirty = msgspec.structs.replace(settings, retention=RetentionSettings(trash_days=30))
    s = wire(thirty, clean.redis, clean.bus, store, clean.queue)
    s.retention.bucket = bucket
    expired, recent, kept = [await _meeting(s, "owner-1", store) for _ in range(3)]
    for tid in (expired, recent, kept):
        await _tracks_of(bucket, tid, f"daily/room-{tid}")
    await s.transcripts.delete(expired)
    await s.transcripts.delete(recent)
    await transcripts_table.update(expired, {"deleted_at": now() - timedelta(days=31)})
    await transcripts_table.update(recent, {"deleted_at": now() - timedelta(days=29)})
    assert len(await store.list_keys(f"transcripts/{expired}/")) == 4
    assert len(await bucket.list_keys(f"daily/room-{expired}/")) == 3

    report = await s.retention.sweep(force=True)

    assert (report.purged, report.failed) == (1, 0)
    # Nothing of it left: listed straight from the store and the bucket, and its rows.
    assert await store.list_keys(f"transcripts/{expired}/") == []
    assert await bucket.list_keys(f"daily/room-{expired}/") == []
    assert await _rows_of(expired) == 0
    assert await Recording.count().where((Recording.transcript_id == expired) & Recording.deleted_at.is_null()) == 0
    # Only the expired one: the recent trash and the living transcript keep everything.
    for tid in (recent, kept):
        assert len(await store.list_keys(f"transcripts/{tid}/")) == 4
        assert len(await bucket.list_keys(f"daily/room-{tid}/")) == 3
        assert await _rows_of(tid) == 1 + 1 + 2
    owner = Caller(user_id="owner-1", role="user", via="api_key")
    assert [t.transcript.id for t in await s.retention.trash(owner)] == [recent]
    assert (await s.transcripts.get(kept)).id == kept
    # Swept again within the period by any worker: nothing is done twice.
    assert (await s.retention.sweep()).skipped


async def test_delete_forever_from_the_trash_purges_at_once(people: People, s3_endpoint: str) -> None:  # noqa: F811
    http, owner, services = people.http, people.owner, people.services
    async with S3Storage(bucket=_create_bucket(s3_endpoint), endpoint_url=s3_endpoint, **CREDENTIALS) as bucket:
        services.retention.bucket = bucket
        try:
            tid = await _meeting(services, people.owner_id)
            await _tracks_of(bucket, tid, f"daily/room-{tid}")
            await http.delete(f"/v1/transcripts/{tid}", headers=owner)
            answer = await http.delete(f"/v1/transcripts/trash/{tid}", headers=owner)
            assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
            assert await services.storage.list_keys(f"transcripts/{tid}/") == []
            assert await bucket.list_keys("daily/") == []
            assert await _rows_of(tid) == 0
            assert (await http.post(f"/v1/transcripts/{tid}/restore", headers=owner)).status_code == 404
        finally:
            services.retention.bucket = None


async def test_a_rooms_audio_limit_deletes_old_audio_and_keeps_the_text(people: People) -> None:
    http, owner, services = people.http, people.owner, people.services
    room = (await http.post("/v1/rooms", json={"name": "Board", "platform": "daily"}, headers=owner)).json()
    assert room["audio_retention_days"] is None
    refused = await http.patch(f"/v1/rooms/{room['id']}", json={"audio_retention_days": 0}, headers=owner)
    assert refused.status_code == 422
    changed = await http.patch(f"/v1/rooms/{room['id']}", json={"audio_retention_days": 7}, headers=owner)
    assert changed.json()["audio_retention_days"] == 7
    keeping = await services.rooms.create(people.owner_id, RoomSettings(name="Keeps", platform="daily"))

    old = await _meeting(services, people.owner_id, room_id=room["id"], source_kind="room")
    new = await _meeting(services, people.owner_id, room_id=room["id"], source_kind="room")
    elsewhere = await _meeting(services, people.owner_id, room_id=keeping.id, source_kind="room")
    await _tracks_of(services.storage, old, f"daily/room-{old}")
    for tid in (old, elsewhere):
        await transcripts_table.update(tid, {"created_at": now() - timedelta(days=8)})

    report = await services.retention.sweep(force=True)

    assert report.audio_deleted == 1
    assert await services.storage.list_keys(f"transcripts/{old}/") == [f"{steps_prefix(old)}assemble.json"]
    assert await services.storage.list_keys(f"daily/room-{old}/") == []
    view = (await http.get(f"/v1/transcripts/{old}", headers=owner)).json()
    assert view["audio_deleted"] is True and view["title"] == "Budget review"
    assert [t["title"] for t in (await http.get(f"/v1/transcripts/{old}/topics", headers=owner)).json()] == ["Numbers"]
    assert (await http.get(f"/v1/transcripts/{old}/audio/mp3", headers=owner)).status_code == 404
    for tid in (new, elsewhere):
        assert (await http.get(f"/v1/transcripts/{tid}/audio/mp3", headers=owner)).content == MP3


async def test_deleting_a_room_keeps_its_transcripts_detached(people: People) -> None:
    http, owner, services = people.http, people.owner, people.services
    room = (await http.post("/v1/rooms", json={"name": "Retro", "platform": "daily"}, headers=owner)).json()
    made = [await _meeting(services, people.owner_id, room_id=room["id"], source_kind="room") for _ in range(2)]
    page = await http.get(f"/rooms/{room['id']}/delete", headers=owner)
    assert "Its 2 transcripts stay" in page.text

    deleted = await http.delete(f"/v1/rooms/{room['id']}", headers=owner)

    assert (deleted.status_code, deleted.json()) == (200, {"status": "ok", "transcripts_kept": 2})
    for tid in made:
        view = (await http.get(f"/v1/transcripts/{tid}", headers=owner)).json()
        assert (view["room_id"], view["meeting_id"], view["title"]) == (None, None, "Budget review")
    assert (await http.get(f"/v1/rooms/{room['id']}", headers=owner)).status_code == 404


async def test_a_trashed_transcript_is_found_by_no_service_read(clean: Services) -> None:
    tid = await _meeting(clean, "owner-1")
    await clean.transcripts.delete(tid)
    with pytest.raises(TranscriptNotFound):
        await clean.transcripts.get(tid)
    assert await clean.transcripts.list_recent() == []


async def test_a_worker_purges_expired_trash_by_itself(clean: Services, settings: Settings, tmp_path: Path) -> None:
    """The sweep runs in a real worker process's periodic loop (as the meetings' sweep), no call needed."""
    expired, recent = [await _meeting(clean, "owner-1") for _ in range(2)]
    for tid, days in ((expired, 2), (recent, 0.5)):
        await clean.transcripts.delete(tid)
        await transcripts_table.update(tid, {"deleted_at": now() - timedelta(days=days)})
    env = {"TRASH_DAYS": "1", "RETENTION_SWEEP_EVERY_S": "1"}
    worker = WorkerProcess(settings, tmp_path / "worker.log", "webhooks", env=env).start()
    try:
        deadline = time.monotonic() + 90
        while await _rows_of(expired):
            assert time.monotonic() < deadline, worker.log()[-3000:]
            await asyncio.sleep(0.2)
    finally:
        worker.stop()
    assert await clean.storage.list_keys(f"transcripts/{expired}/") == []
    assert (await clean.transcripts.in_trash(recent)).id == recent
    assert len(await clean.storage.list_keys(f"transcripts/{recent}/")) == 4


async def test_a_purge_deletes_a_one_file_recording_from_the_bucket_it_names(
    clean: Services,
    settings: Settings,
    s3_endpoint: str,  # noqa: F811
) -> None:
    """Whereby's composite recording lives in a bucket the recording names (read with the store's S3 keys)."""
    keys = StorageSettings(aws_endpoint_url=s3_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
    s = wire(msgspec.structs.replace(settings, storage=keys), clean.redis, clean.bus, clean.storage, clean.queue)
    async with S3Storage(bucket=_create_bucket(s3_endpoint), endpoint_url=s3_endpoint, **CREDENTIALS) as named:
        tid = await _meeting(s, "owner-1")
        await named.put_bytes("whereby/meeting-1.mp4", b"composite")
        await named.put_bytes("whereby/another-meeting.mp4", b"not this transcript's")
        await Recording(
            platform_recording_id="whereby-1", bucket_name=named.bucket, object_key="whereby/meeting-1.mp4",
            status="completed", transcript_id=tid,
        ).save()  # fmt: skip
        await s.transcripts.delete(tid)

        await s.retention.delete_forever(tid, Caller(user_id="owner-1", role="user", via="api_key"))

        assert await named.list_keys("whereby/") == ["whereby/another-meeting.mp4"]
        assert await clean.storage.list_keys(f"transcripts/{tid}/") == []


async def test_the_room_form_sets_and_clears_the_audio_limit(people: People) -> None:
    http, owner, services = people.http, people.owner, people.services
    room = await services.rooms.create(people.owner_id, RoomSettings(name="Standup", platform="daily"))
    form = {"name": "Standup", "platform": "daily", "audio_retention_days": "14"}
    edit = await http.get(f"/rooms/{room.id}/edit", headers=owner)
    assert 'name="audio_retention_days"' in edit.text and f"/rooms/{room.id}/delete" in edit.text

    assert (await http.post(f"/rooms/{room.id}", data=form, headers=owner)).status_code == 303
    assert (await services.rooms.get(room.id)).audio_retention_days == 14
    refused = await http.post(f"/rooms/{room.id}", data={**form, "audio_retention_days": "soon"}, headers=owner)
    assert refused.status_code == 422 and "Keep audio for (days)" in refused.text
    assert (
        await http.post(f"/rooms/{room.id}", data={**form, "audio_retention_days": ""}, headers=owner)
    ).status_code == 303
    assert (await services.rooms.get(room.id)).audio_retention_days is None
