"""The fake platforms, each served on 127.0.0.1 for one test, and a webhook inbox they deliver to."""

from collections.abc import Iterator
from typing import TypeVar

import pytest

from tests.platforms.daily_fake import FakeDaily
from tests.platforms.fake_server import FakePlatform, Inbox, Served
from tests.platforms.livekit_fake import FakeLiveKit
from tests.platforms.whereby_fake import FakeWhereby

P = TypeVar("P", bound=FakePlatform)


def _served(platform: P) -> Iterator[P]:
    served = Served(platform).start()
    try:
        yield platform
    finally:
        served.stop()


@pytest.fixture
def daily() -> Iterator[FakeDaily]:
    yield from _served(FakeDaily())


@pytest.fixture
def whereby() -> Iterator[FakeWhereby]:
    yield from _served(FakeWhereby())


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    yield from _served(FakeLiveKit())


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from _served(Inbox())
