"""The same behaviour from both object stores: a local directory and S3 (moto's real HTTP server)."""

import asyncio
import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest

from reflector.adapters.storage import (
    InvalidKey,
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    StorageNotFound,
    build_storage,
)
from reflector.settings import StorageSettings
from tests.net import free_port

MB = 1024 * 1024
BIG_SIZE = 20 * MB
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _create_bucket(endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        store: Storage = LocalStorage(tmp_path / "store")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        store = S3Storage(bucket=_create_bucket(endpoint), endpoint_url=endpoint, **CREDENTIALS)
    async with store:
        yield store


@pytest.fixture(scope="module")
def big_bytes() -> bytes:
    return os.urandom(BIG_SIZE)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory, big_bytes: bytes) -> Path:
    path = tmp_path_factory.mktemp("big") / "meeting.mp3"
    path.write_bytes(big_bytes)
    return path


async def _read_range(store: Storage, key: str, start: int, end: int | None) -> bytes:
    return b"".join([chunk async for chunk in store.open_range(key, start, end)])


async def test_bytes_round_trip(storage: Storage) -> None:
    key = "transcripts/abc/topics.json"
    await storage.put_bytes(key, b'{"topics": []}')

    assert await storage.get_bytes(key) == b'{"topics": []}'
    assert await storage.size(key) == 14
    assert await storage.exists(key)


async def test_put_overwrites(storage: Storage) -> None:
    await storage.put_bytes("transcripts/abc/title.txt", b"first draft")
    await storage.put_bytes("transcripts/abc/title.txt", b"final")

    assert await storage.get_bytes("transcripts/abc/title.txt") == b"final"


async def test_big_file_upload_and_ranged_reads(storage: Storage, big_file: Path, big_bytes: bytes) -> None:
    source = big_bytes
    key = "transcripts/abc/upload.mp3"
    await storage.put_file(key, big_file)

    assert await storage.size(key) == BIG_SIZE
    assert await _read_range(storage, key, 0, 100) == source[:100]
    middle = BIG_SIZE // 2 - 7
    assert await _read_range(storage, key, middle, middle + 3 * MB) == source[middle : middle + 3 * MB]
    assert await _read_range(storage, key, BIG_SIZE - 100, BIG_SIZE) == source[-100:]
    assert await _read_range(storage, key, BIG_SIZE - 5, None) == source[-5:]
    assert await _read_range(storage, key, 10, 10) == b""


async def test_range_reads_arrive_in_chunks(storage: Storage, big_file: Path) -> None:
    await storage.put_file("transcripts/abc/upload.mp3", big_file)

    sizes = [len(chunk) async for chunk in storage.open_range("transcripts/abc/upload.mp3", 0, 5 * MB)]

    assert sum(sizes) == 5 * MB
    assert len(sizes) > 1 and max(sizes) <= MB


async def test_range_past_the_end_is_empty(storage: Storage) -> None:
    await storage.put_bytes("transcripts/abc/a.bin", b"0123456789")

    assert await _read_range(storage, "transcripts/abc/a.bin", 5, 100) == b"56789"
    assert await _read_range(storage, "transcripts/abc/a.bin", 10, None) == b""


async def test_download_matches_upload(storage: Storage, big_file: Path, tmp_path: Path) -> None:
    await storage.put_file("transcripts/abc/upload.mp3", big_file)
    dest = tmp_path / "work" / "audio.mp3"

    await storage.download("transcripts/abc/upload.mp3", dest)

    assert await asyncio.to_thread(_sha256, dest) == await asyncio.to_thread(_sha256, big_file)
    assert [p.name for p in dest.parent.iterdir()] == ["audio.mp3"]  # no temp files left


async def test_missing_key(storage: Storage, tmp_path: Path) -> None:
    key = "transcripts/nope/upload.mp3"

    assert await storage.size(key) is None
    assert not await storage.exists(key)
    with pytest.raises(StorageNotFound):
        await storage.get_bytes(key)
    with pytest.raises(StorageNotFound):
        await storage.download(key, tmp_path / "out.mp3")
    with pytest.raises(StorageNotFound):
        await _read_range(storage, key, 0, 10)
    assert not (tmp_path / "out.mp3").exists()


async def test_put_file_of_a_missing_source(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await storage.put_file("transcripts/abc/upload.mp3", tmp_path / "not-recorded.mp3")


async def test_a_prefix_is_not_an_object(storage: Storage) -> None:
    await storage.put_bytes("transcripts/abc/upload.mp3", b"x")

    assert await storage.size("transcripts/abc") is None
    with pytest.raises(StorageNotFound):
        await storage.get_bytes("transcripts/abc")


async def test_delete(storage: Storage) -> None:
    await storage.put_bytes("transcripts/abc/upload.mp3", b"x")

    await storage.delete("transcripts/abc/upload.mp3")
    await storage.delete("transcripts/abc/upload.mp3")  # twice is fine

    assert not await storage.exists("transcripts/abc/upload.mp3")


async def test_delete_prefix_removes_only_that_transcript(storage: Storage) -> None:
    for key in ["transcripts/a/upload.mp3", "transcripts/a/steps/words.json", "transcripts/ab/upload.mp3"]:
        await storage.put_bytes(key, b"x")

    assert await storage.delete_prefix("transcripts/a/") == 2

    assert await storage.list_keys() == ["transcripts/ab/upload.mp3"]
    with pytest.raises(InvalidKey):
        await storage.delete_prefix("")


async def test_list_keys_uses_string_prefixes(storage: Storage) -> None:
    keys = ["transcripts/b/upload.mp3", "transcripts/a/upload.mp3", "transcripts/ab/x.json", "rooms/r1/x"]
    for key in keys:
        await storage.put_bytes(key, b"x")

    assert await storage.list_keys() == sorted(keys)
    assert await storage.list_keys("transcripts/a") == ["transcripts/a/upload.mp3", "transcripts/ab/x.json"]
    assert await storage.list_keys("transcripts/a/") == ["transcripts/a/upload.mp3"]
    assert await storage.list_keys("nothing/") == []


@pytest.mark.parametrize(
    "key", ["", "../escape", "/etc/passwd", "a/../../b", "a//b", "a\\b", "transcripts/.hidden", "a/./b"]
)
async def test_bad_keys_are_rejected(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.put_bytes(key, b"x")
    with pytest.raises(InvalidKey):
        await storage.size(key)


async def test_local_writes_stay_inside_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    with pytest.raises(InvalidKey):
        await store.put_bytes("../outside.txt", b"x")
    await store.put_bytes("transcripts/a/upload.mp3", b"x")
    await store.delete_prefix("transcripts/a/")

    assert not (tmp_path / "outside.txt").exists()
    assert list((tmp_path / "store").iterdir()) == []  # empty directories pruned, root kept


async def test_s3_missing_bucket_is_a_clear_error(s3_endpoint: str) -> None:
    async with S3Storage(bucket="no-such-bucket", endpoint_url=s3_endpoint, **CREDENTIALS) as store:
        with pytest.raises(StorageError, match="does not exist"):
            await store.check()
        with pytest.raises(StorageError, match="does not exist"):
            await store.get_bytes("transcripts/a/upload.mp3")


async def test_s3_must_be_started_first() -> None:
    store = S3Storage(bucket="b", endpoint_url="http://127.0.0.1:9", **CREDENTIALS)
    with pytest.raises(StorageError, match="not started"):
        await store.get_bytes("transcripts/a/upload.mp3")


async def test_unreachable_s3_is_a_storage_error() -> None:
    async with S3Storage(bucket="b", endpoint_url=f"http://127.0.0.1:{free_port()}", **CREDENTIALS) as store:
        with pytest.raises(StorageError, match="cannot reach"):
            await store.check()


def test_build_storage(tmp_path: Path) -> None:
    local = build_storage(StorageSettings(), tmp_path)
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "storage"

    remote = build_storage(StorageSettings(backend="aws", aws_bucket_name="meetings"), tmp_path)
    assert isinstance(remote, S3Storage) and remote.bucket == "meetings"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
