"""A room's webhook through the API, as its owner uses it: Reflector's test route and answer, the delivery
log with its filters, redelivery queued under the event's id, meetings' start and end logged as events, and
/metrics counting deliveries; other people are refused. The receiver is a local server (private targets
allowed for it); the deliveries a worker sends are in tests/integration/test_webhooks.py."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reflector.bootstrap import Services, wire
from reflector.domain.auth.models import Identity
from reflector.domain.ids import now
from reflector.settings import Settings, WebhookSettings
from reflector.web.app import create_app
from tests.integration.webhook_receiver import Receiver
from tests.meeting_platform import RecordingPlatform, with_platform
from tests.platforms.fake_server import Served


@dataclass
class Owner:
    http: httpx.AsyncClient
    services: Services
    receiver: Receiver
    room: dict
    owner: dict[str, str]
    other: dict[str, str]


async def _key_of(services: Services, email: str) -> dict[str, str]:
    user = await services.auth.user_for_identity(Identity(sub=email, email=email, name=email.split("@")[0]))
    return {"X-API-Key": (await services.auth.create_key(user.id, "webhooks")).key}


@pytest.fixture
async def owner(clean: Services, settings: Settings) -> AsyncIterator[Owner]:
    accounts = msgspec.structs.replace(
        settings,
        auth=msgspec.structs.replace(settings.auth, backend="oidc", secret_key="x" * 32),
        webhooks=WebhookSettings(allow_private_targets=True, timeout_s=2),
    )
    services = with_platform(wire(accounts, clean.redis, clean.bus, clean.storage, clean.queue), RecordingPlatform())
    receiver = Receiver(secret="")
    served = Served(receiver).start()
    transport = httpx.ASGITransport(app=create_app(accounts, services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            keys = await _key_of(clean, "owner@example.org"), await _key_of(clean, "other@example.org")
            body = {"name": "Ops", "platform": "daily", "webhook_url": receiver.url, "is_shared": True}
            room = (await http.post("/v1/rooms", json=body, headers=keys[0])).json()
            receiver.secret = room["webhook_secret"]
            yield Owner(http, services, receiver, room, *keys)
    finally:
        served.stop()


async def test_the_owner_sends_a_test_and_finds_it_in_the_log(owner: Owner) -> None:
    room_id = owner.room["id"]
    sent = await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    assert sent.status_code == 200, sent.text
    result = sent.json()
    assert set(result) == {"success", "message", "error", "status_code", "response_preview"}
    assert result["success"] is True and result["status_code"] == 200 and result["error"] is None
    [received] = owner.receiver.received
    assert received.reflector_ok and received.standard_ok
    body = received.json()
    assert body["event"] == "test" and body["message"] == "This is a test webhook from Reflector"
    assert body["room"] == {"id": room_id, "name": "ops"}

    log = (await owner.http.get(f"/v1/rooms/{room_id}/webhooks/deliveries", headers=owner.owner)).json()
    assert (log["total"], log["page"], log["pages"]) == (1, 1, 1)
    [delivery] = log["items"]
    assert delivery["id"] == received.webhook_id == body["event_id"]
    assert (delivery["event"], delivery["status"], delivery["attempts"]) == ("test", "succeeded", 1)
    [attempt] = delivery["attempt_log"]
    assert (attempt["attempt"], attempt["status_code"], attempt["outcome"]) == (1, 200, "success")
    assert len(attempt["response_excerpt"].encode()) <= 1024
    assert owner.room["webhook_secret"] not in str(log)


async def test_the_log_filters_by_event_and_status(owner: Owner) -> None:
    room_id = owner.room["id"]
    meeting = (await owner.http.post("/v1/rooms/ops/meeting", json={}, headers=owner.owner)).json()
    ended = await owner.http.patch(f"/v1/meetings/{meeting['id']}/deactivate", headers=owner.owner)
    assert ended.status_code == 200
    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    url = f"/v1/rooms/{room_id}/webhooks/deliveries"

    async def events(**query: str) -> list[str]:
        answer = await owner.http.get(url, params=query, headers=owner.owner)
        assert answer.status_code == 200, answer.text
        return [d["event"] for d in answer.json()["items"]]

    assert await events() == ["test", "meeting.ended", "meeting.started"]  # newest first
    assert await events(event="meeting.started") == ["meeting.started"]
    assert await events(status="pending") == ["meeting.ended", "meeting.started"]  # no worker here
    assert await events(status="succeeded", event="test") == ["test"]
    assert (await owner.http.get(url, params={"event": "nonsense"}, headers=owner.owner)).status_code == 422
    started = (await owner.http.get(url, params={"event": "meeting.started"}, headers=owner.owner)).json()
    delivery_id = started["items"][0]["id"]
    queued = await owner.services.redis.zrange("reflector:webhooks", 0, -1)
    assert f"webhook:{delivery_id}:1".encode() in queued


async def test_redelivery_is_queued_under_the_events_own_id(owner: Owner) -> None:
    room_id = owner.room["id"]
    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    [delivery] = (await owner.http.get(f"/v1/rooms/{room_id}/webhooks/deliveries", headers=owner.owner)).json()["items"]

    again = await owner.http.post(
        f"/v1/rooms/{room_id}/webhooks/deliveries/{delivery['id']}/redeliver", headers=owner.owner
    )

    assert again.status_code == 202, again.text
    assert again.json()["id"] == delivery["id"] and again.json()["status"] == "pending"
    assert f"webhook:{delivery['id']}:2:again".encode() in await owner.services.redis.zrange(
        "reflector:webhooks", 0, -1
    )
    missing = await owner.http.post(f"/v1/rooms/{room_id}/webhooks/deliveries/nope/redeliver", headers=owner.owner)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Webhook delivery not found"})


async def test_only_the_owner_may_use_the_rooms_webhook(owner: Owner) -> None:
    room_id = owner.room["id"]
    routes = [
        ("POST", f"/v1/rooms/{room_id}/webhook/test"),
        ("GET", f"/v1/rooms/{room_id}/webhooks/deliveries"),
        ("POST", f"/v1/rooms/{room_id}/webhooks/deliveries/x/redeliver"),
    ]
    for method, path in routes:
        assert (await owner.http.request(method, path, headers=owner.other)).status_code == 403, path
        assert (await owner.http.request(method, path)).status_code == 401, path
    assert owner.receiver.received == []


async def test_a_room_without_a_webhook_is_told_so(owner: Owner) -> None:
    body = {"name": "Quiet", "platform": "daily"}
    room = (await owner.http.post("/v1/rooms", json=body, headers=owner.owner)).json()
    answer = await owner.http.post(f"/v1/rooms/{room['id']}/webhook/test", headers=owner.owner)
    assert answer.status_code == 400
    assert answer.json()["detail"] == "This room has no webhook URL: set one in the room's settings first"


async def test_metrics_count_deliveries_by_status_and_attempts_by_outcome(owner: Owner) -> None:
    room_id = owner.room["id"]
    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    await owner.http.post("/v1/rooms/ops/meeting", json={}, headers=owner.owner)

    text = (await owner.http.get("/metrics")).text

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("reflector_webhook_deliveries", (("status", "succeeded"),))] == 1
    assert samples[("reflector_webhook_deliveries", (("status", "pending"),))] == 1
    assert samples[("reflector_webhook_deliveries", (("status", "failed"),))] == 0
    assert samples[("reflector_webhook_attempts_total", (("outcome", "success"),))] == 1
    assert samples[("reflector_webhook_attempts_total", (("outcome", "refused"),))] == 0


async def test_the_owner_limits_the_webhook_to_some_events(owner: Owner) -> None:
    room_id = owner.room["id"]
    url = f"/v1/rooms/{room_id}/webhooks/deliveries"
    limited = await owner.http.patch(
        f"/v1/rooms/{room_id}", json={"webhook_events": ["meeting.ended"]}, headers=owner.owner
    )
    assert limited.status_code == 200 and limited.json()["webhook_events"] == ["meeting.ended"]
    meeting = (await owner.http.post("/v1/rooms/ops/meeting", json={}, headers=owner.owner)).json()
    await owner.http.patch(f"/v1/meetings/{meeting['id']}/deactivate", headers=owner.owner)
    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)  # a test always goes

    events = [d["event"] for d in (await owner.http.get(url, headers=owner.owner)).json()["items"]]
    assert events == ["test", "meeting.ended"]

    shown = (await owner.http.get(f"/v1/rooms/{room_id}", headers=owner.other)).json()
    assert shown["webhook_events"] is None and shown["webhook_url"] is None  # the owner's business
    bad = await owner.http.patch(f"/v1/rooms/{room_id}", json={"webhook_events": ["everything"]}, headers=owner.owner)
    assert bad.status_code == 422
    every = await owner.http.patch(f"/v1/rooms/{room_id}", json={"webhook_events": None}, headers=owner.owner)
    assert every.json()["webhook_events"] is None


async def test_a_rotated_secret_signs_beside_the_new_one_for_the_grace_period(owner: Owner) -> None:
    from standardwebhooks import Webhook

    from reflector.domain.rooms import repository as rooms_table
    from tests.integration.webhook_receiver import reflector_signature_ok

    room_id, old = owner.room["id"], owner.room["webhook_secret"]
    rotated = await owner.http.post(f"/v1/rooms/{room_id}/webhook/rotate", headers=owner.owner)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["webhook_secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["previous_valid_until"]
    assert (await owner.http.get(f"/v1/rooms/{room_id}", headers=owner.owner)).json()["webhook_secret"] == new
    refused = await owner.http.post(f"/v1/rooms/{room_id}/webhook/rotate", headers=owner.other)
    assert refused.status_code == 403

    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    [during] = owner.receiver.received  # the receiver still holds the old secret: it verifies
    assert during.reflector_ok and during.standard_ok
    headers = during.request.headers
    assert reflector_signature_ok(new, headers["x-webhook-signature"], during.request.body)
    Webhook(new).verify(during.request.body, headers)

    # The grace period over: only the new secret signs.
    await rooms_table.update_room(room_id, {"webhook_previous_until": now() - timedelta(seconds=1)})
    await owner.http.post(f"/v1/rooms/{room_id}/webhook/test", headers=owner.owner)
    after = owner.receiver.received[1]
    assert not after.reflector_ok and not after.standard_ok  # the old secret no longer verifies
    assert reflector_signature_ok(new, after.request.headers["x-webhook-signature"], after.request.body)
    assert old not in str((await owner.http.get(f"/v1/rooms/{room_id}", headers=owner.owner)).json())
