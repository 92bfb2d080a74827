"""Webhook signatures against vectors computed outside this code: Standard Webhooks' own published example
(spec and libraries) and `openssl dgst -sha256 -hmac` for Reflector's header and a secret typed by hand."""

import random
import time

import pytest

from reflector.adapters.public_network import refusal
from reflector.adapters.webhook_http import Answer
from reflector.domain.webhooks import policy, signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_standard_signature_matches_the_specifications_example() -> None:
    # standard-webhooks/standard-webhooks: msg_p5jXN8AQM9LWM0D4loKWxJek, 1614265330, {"test": 2432232314}
    signature = signing.standard_signature(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reflector_signature_is_hex_hmac_of_timestamp_dot_body_keyed_by_the_whole_secret() -> None:
    # printf '1700000000.{"event":"test"}' | openssl dgst -sha256 -hmac 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    expected = "120ffe6a9a05b10d149db1eb6fd28d5f6957c0f20f3d64d3e23d0719857d633e"
    assert signing.reflector_signature(SECRET, 1700000000, b'{"event":"test"}') == f"t=1700000000,v1={expected}"


def test_a_secret_typed_by_hand_signs_the_standard_header_with_its_text() -> None:
    # printf 'evt_1.1700000000.{"event":"test"}' | openssl dgst -sha256 -hmac 'my plain secret' -binary | base64
    signature = signing.standard_signature("my plain secret", "evt_1", 1700000000, b'{"event":"test"}')
    assert signature == "v1,LS2yjkk0fy6HtJApWDCHjsHApFsqP/2ONE4XlLMTvaE="


def test_headers_carry_both_schemes_and_reflectors_retry_count() -> None:
    body = b'{"event":"test"}'
    headers = signing.headers(
        event="test", webhook_id="evt_1", attempt=3, timestamp=1700000000, body=body, secret=SECRET
    )
    assert headers["X-Webhook-Event"] == "test" and headers["X-Webhook-Retry"] == "2"
    assert headers["webhook-id"] == "evt_1" and headers["webhook-timestamp"] == "1700000000"
    assert headers["User-Agent"] == "Reflector-Webhook/1.0" and headers["Content-Type"] == "application/json"
    assert headers["X-Webhook-Signature"] == signing.reflector_signature(SECRET, 1700000000, body)
    assert headers["webhook-signature"] == signing.standard_signature(SECRET, "evt_1", 1700000000, body)
    unsigned = signing.headers(event="test", webhook_id="evt_1", attempt=1, timestamp=1, body=body, secret=None)
    assert "X-Webhook-Signature" not in unsigned and "webhook-signature" not in unsigned


SCHEDULE = (5.0, 300.0)


@pytest.mark.parametrize(
    ("answer", "in_series", "verdict"),
    [
        (Answer(status=200, latency_ms=1), 1, "success"),
        (Answer(status=204, latency_ms=1), 3, "success"),
        (Answer(status=301, latency_ms=1), 1, "retry"),
        (Answer(status=410, latency_ms=1), 1, "disabled"),
        (Answer(status=400, latency_ms=1), 1, "failed"),
        (Answer(status=404, latency_ms=1), 1, "failed"),
        (Answer(status=408, latency_ms=1), 1, "retry"),
        (Answer(status=429, latency_ms=1), 1, "retry"),
        (Answer(status=503, latency_ms=1), 2, "retry"),
        (Answer(status=503, latency_ms=1), 3, "failed"),  # past the last retry
        (Answer(status=None, latency_ms=1, error="timed out"), 1, "retry"),
        (Answer(status=None, latency_ms=1, error="refused", refused=True), 1, "refused"),
    ],
)
def test_what_each_answer_means(answer: Answer, in_series: int, verdict: str) -> None:
    assert policy.decide(answer, in_series, SCHEDULE, random.Random(1)).verdict == verdict


def test_retries_follow_the_schedule_with_jitter_and_honour_retry_after() -> None:
    rng = random.Random(7)
    delays = [policy.decide(Answer(status=500, latency_ms=1), 2, SCHEDULE, rng).delay_s for _ in range(200)]
    assert all(270 <= d <= 330 for d in delays if d is not None) and len(set(delays)) > 100
    asked = Answer(status=429, latency_ms=1, retry_after="120")
    assert policy.decide(asked, 1, SCHEDULE, rng).delay_s == 120
    dated = Answer(status=503, latency_ms=1, retry_after="Wed, 21 Oct 2099 07:28:00 GMT")
    assert policy.decide(dated, 1, SCHEDULE, rng).delay_s == policy.MAX_RETRY_AFTER_S


@pytest.mark.parametrize(
    ("address", "allowed", "allowed_privately"),
    [
        ("93.184.216.34", True, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.1.2.3", False, True),
        ("192.168.0.10", False, True),
        ("169.254.10.1", False, True),
        ("100.64.0.1", False, True),  # carrier-grade NAT: not public
        ("::ffff:127.0.0.1", False, True),
        ("169.254.169.254", False, False),  # cloud metadata: never
        ("fd00:ec2::254", False, False),
    ],
)
def test_which_addresses_a_webhook_may_reach(address: str, allowed: bool, allowed_privately: bool) -> None:
    import ipaddress

    ip = ipaddress.ip_address(address)
    assert (refusal(ip, allow_private=False) is None) == allowed
    assert (refusal(ip, allow_private=True) is None) == allowed_privately


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    from standardwebhooks import Webhook

    from tests.integration.webhook_receiver import reflector_signature_ok

    new, old = "whsec_" + "A" * 43 + "=", SECRET
    body, now = b'{"event":"test"}', int(time.time())
    headers = signing.headers(
        event="test", webhook_id="evt_1", attempt=1, timestamp=now, body=body, secret=new, previous=old
    )
    assert headers["X-Webhook-Signature"].count("v1=") == 2 and headers["webhook-signature"].count("v1,") == 2
    lowered = {k.lower(): v for k, v in headers.items()}
    for secret in (new, old):
        assert reflector_signature_ok(secret, headers["X-Webhook-Signature"], body)
        Webhook(secret).verify(body, lowered)  # raises when no signature matches
    assert not reflector_signature_ok("whsec_other", headers["X-Webhook-Signature"], body)
