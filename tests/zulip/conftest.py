"""A fake Zulip served on 127.0.0.1 for one test."""

from collections.abc import Iterator

import pytest

from tests.platforms.fake_server import Served
from tests.zulip.zulip_fake import FakeZulip


@pytest.fixture
def zulip() -> Iterator[FakeZulip]:
    fake = FakeZulip()
    served = Served(fake).start()
    try:
        yield fake
    finally:
        served.stop()
