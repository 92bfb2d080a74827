"""Object store for audio and step outputs: a local directory (default) or S3 through aiobotocore.

Keys are `/`-separated relative paths such as `transcripts/{id}/upload.mp3`, valid on both backends.
Use a backend as an async context manager (or `start()`/`close()`): the S3 one keeps one client open.
"""

import asyncio
import contextlib
import errno
import math
import os
import shutil
import stat
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from reflector.settings import StorageSettings

log = structlog.get_logger(__name__)

CHUNK_SIZE = 1024 * 1024  # streamed reads and copies
# S3 refuses parts under 5 MiB (except the last) and more than 10,000 parts per upload.
MULTIPART_PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000


class StorageError(Exception):
    """The object store failed or refused; the message says what to check."""


class StorageNotFound(StorageError):
    """No object under that key."""


class StorageFull(StorageError):
    """The disk under DATA_DIR has no room left: nothing was stored, and nothing half-written remains."""

    def __init__(self) -> None:
        super().__init__(
            "The server's storage (DATA_DIR) is full, so nothing was saved. Free some space on it, then send "
            "the recording again or retry the processing: it goes on from where it stopped."
        )


class _RangeNotSatisfiable(StorageError):
    pass


class InvalidKey(StorageError, ValueError):
    """A key that could escape the store or that the two backends would read differently."""


def check_key(key: str) -> str:
    # One rule for both backends, so a key that works in development works on S3 too. Segments
    # may not start with "." (which keeps ".." out and leaves dot-names to the local temp files).
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid storage key {key!r}: use a relative path like 'transcripts/id/x.mp3'")
    if any(not part or part.startswith(".") for part in key.split("/")):
        raise InvalidKey(f"invalid storage key {key!r}: empty or dot-prefixed path segment")
    return key


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range start={start} end={end}")


class Storage(ABC):
    """Async object store. `open_range` end is exclusive (Python slices), None = to the end."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        pass

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abstractmethod
    async def check(self) -> None:
        """Raise StorageError unless the store is reachable and writable (for start-up checks)."""

    @abstractmethod
    async def put_file(self, key: str, path: Path) -> None:
        """Upload a local file, streamed; raises FileNotFoundError when `path` is missing."""

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    async def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    async def download(self, key: str, dest: Path) -> None: ...

    @abstractmethod
    def open_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Chunks of bytes [start, end). Nothing is opened until the first iteration, which raises
        StorageNotFound for a missing key; HTTP handlers call `size()` first to answer 404/416."""

    @abstractmethod
    async def size(self, key: str) -> int | None: ...

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove one object; a missing key is not an error (S3 behaves so too)."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix`; returns how many."""

    @abstractmethod
    async def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys starting with `prefix` (a string prefix, as on S3, not a directory)."""


def _replace_atomically(dest: Path, write: Any) -> None:
    """Run `write(tmp_path)` then rename over `dest`, so readers never see half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull() from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            _replace_atomically(self.root / ".probe", lambda tmp: tmp.write_bytes(b""))
            (self.root / ".probe").unlink()

        try:
            await asyncio.to_thread(probe)
        except OSError as exc:
            raise StorageError(f"storage directory {self.root} is not writable: {exc}") from exc

    async def put_file(self, key: str, path: Path) -> None:
        dest = self._path(key)
        await asyncio.to_thread(path.stat)  # a missing source is the caller's FileNotFoundError
        with self._errors(key):
            await asyncio.to_thread(_replace_atomically, dest, lambda tmp: shutil.copyfile(path, tmp))

    async def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        with self._errors(key):
            await asyncio.to_thread(_replace_atomically, dest, lambda tmp: tmp.write_bytes(data))

    async def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        with self._errors(key):
            return await asyncio.to_thread(path.read_bytes)

    async def download(self, key: str, dest: Path) -> None:
        path = self._path(key)
        with self._errors(key):
            await asyncio.to_thread(_replace_atomically, dest, lambda tmp: shutil.copyfile(path, tmp))

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        _check_range(start, end)
        path = self._path(key)
        with self._errors(key):
            file = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(file.seek, start)
            remaining = math.inf if end is None else end - start
            while remaining > 0:
                chunk = await asyncio.to_thread(file.read, int(min(CHUNK_SIZE, remaining)))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(file.close)

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            info = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        # A directory is only a shared prefix of keys, as on S3, not an object.
        return None if stat.S_ISDIR(info.st_mode) else info.st_size

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with self._errors(key):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list_keys(_nonempty_prefix(prefix))

        def remove() -> None:
            for key in keys:
                (self.root / key).unlink(missing_ok=True)
            self._prune_empty_parents(keys)

        await asyncio.to_thread(remove)
        log.info("storage.prefix_deleted", backend="local", prefix=prefix, count=len(keys))
        return len(keys)

    async def list_keys(self, prefix: str = "") -> list[str]:
        # Walk only the deepest directory the prefix names, then filter as a string prefix.
        base_dir = prefix.rpartition("/")[0]
        if base_dir:
            check_key(base_dir)
        return await asyncio.to_thread(self._list, self.root / base_dir, prefix)

    def _list(self, base: Path, prefix: str) -> list[str]:
        keys = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith("."):  # temp files of writes in flight
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def _prune_empty_parents(self, keys: list[str]) -> None:
        # Leave no empty transcript directories behind; rmdir fails harmlessly on a refilled one.
        for parent in sorted({p for key in keys for p in (self.root / key).parents}, reverse=True):
            if parent.is_relative_to(self.root) and parent != self.root:
                with contextlib.suppress(OSError):
                    parent.rmdir()

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise StorageNotFound(f"no object at {key!r}") from exc
        except NotADirectoryError as exc:
            raise StorageNotFound(f"no object at {key!r}; part of its path is a file") from exc
        except OSError as exc:
            raise StorageError(f"local storage failed for {key!r}: {exc}") from exc


def _nonempty_prefix(prefix: str) -> str:
    # An empty prefix would wipe the whole store: make callers say what they mean.
    if not prefix:
        raise InvalidKey("delete_prefix needs a non-empty prefix")
    return prefix


# S3 error codes, by what the caller should do about them.
_MISSING = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class S3Storage(Storage):
    """S3 or any S3-compatible server (MinIO, Garage, moto), path-style addressing."""

    def __init__(
        self,
        *,
        bucket: str,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._client_args: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._s3: Any = None

    async def start(self) -> None:
        # Imported here so processes on local storage never pay for botocore.
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        if self._s3 is not None:
            return
        config = AioConfig(s3={"addressing_style": "path"}, signature_version="s3v4")
        stack = contextlib.AsyncExitStack()
        self._s3 = await stack.enter_async_context(
            get_session().create_client("s3", config=config, **self._client_args)
        )
        self._exit_stack = stack

    async def close(self) -> None:
        if self._exit_stack is not None:
            await self._exit_stack.aclose()
        self._exit_stack, self._s3 = None, None

    @property
    def _client(self) -> Any:
        if self._s3 is None:
            raise StorageError("S3Storage is not started: use `async with storage` or `await start()`")
        return self._s3

    async def check(self) -> None:
        try:
            with self._errors(""):
                await self._client.head_bucket(Bucket=self.bucket)
        except StorageNotFound as exc:  # HEAD replies carry no error code: a bare 404 is the bucket
            raise StorageError(f"S3 bucket {self.bucket!r} does not exist; create it or fix its name") from exc

    async def put_file(self, key: str, path: Path) -> None:
        check_key(key)
        total = (await asyncio.to_thread(path.stat)).st_size
        if total <= MULTIPART_PART_SIZE:
            data = await asyncio.to_thread(path.read_bytes)
            await self.put_bytes(key, data)
            return
        # Big uploads go part by part so memory holds one part, never the file.
        part_size = max(MULTIPART_PART_SIZE, math.ceil(total / MAX_PARTS))
        with self._errors(key):
            upload = await self._client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts = await self._upload_parts(key, upload_id, path, part_size)
            with self._errors(key):
                await self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            # Unfinished uploads are billed storage on S3: abort, whatever went wrong.
            with contextlib.suppress(Exception):
                await self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        log.debug("storage.multipart_uploaded", key=key, size=total, parts=len(parts))

    async def _upload_parts(self, key: str, upload_id: str, path: Path, part_size: int) -> list[dict]:
        parts = []
        with path.open("rb") as file:
            number = 1
            while chunk := await asyncio.to_thread(file.read, part_size):
                with self._errors(key):
                    reply = await self._client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                parts.append({"PartNumber": number, "ETag": reply["ETag"]})
                number += 1
        return parts

    async def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(check_key(key)):
            await self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    async def get_bytes(self, key: str) -> bytes:
        with self._errors(check_key(key)):
            reply = await self._client.get_object(Bucket=self.bucket, Key=key)
            async with reply["Body"] as body:
                return await body.read()

    async def download(self, key: str, dest: Path) -> None:
        # Stream into a temp file beside `dest`, then rename: no half-written downloads.
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            with tmp.open("wb") as file:
                async for chunk in self.open_range(key):
                    await asyncio.to_thread(file.write, chunk)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        _check_range(start, end)
        check_key(key)
        if end == start:
            return
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            with self._errors(key):
                reply = await self._client.get_object(**args)
        except _RangeNotSatisfiable:
            return  # past the end: an empty read, as a local file gives
        async with reply["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK_SIZE):
                yield chunk

    async def size(self, key: str) -> int | None:
        try:
            with self._errors(check_key(key)):
                reply = await self._client.head_object(Bucket=self.bucket, Key=key)
        except StorageNotFound:
            return None
        return reply["ContentLength"]

    async def delete(self, key: str) -> None:
        with self._errors(check_key(key)):
            await self._client.delete_object(Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list_keys(_nonempty_prefix(prefix))
        for batch_start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys at most
            batch = [{"Key": key} for key in keys[batch_start : batch_start + 1000]]
            with self._errors(prefix):
                reply = await self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if errors := reply.get("Errors"):
                raise StorageError(f"could not delete {len(errors)} objects under {prefix!r}: {errors[0]}")
        log.info("storage.prefix_deleted", backend="s3", prefix=prefix, count=len(keys))
        return len(keys)

    async def list_keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors(prefix):
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise StorageError(f"S3 bucket {self.bucket!r} does not exist; create it or fix the name") from exc
            if code in _DENIED:
                raise StorageError(
                    f"S3 refused access to {self.bucket!r} ({code}); check the access key and its permissions"
                ) from exc
            if code == "InvalidRange":
                raise _RangeNotSatisfiable(f"range past the end of {key!r}") from exc
            if code in _MISSING:
                raise StorageNotFound(f"no object at {key!r} in bucket {self.bucket!r}") from exc
            raise StorageError(f"S3 request failed for {key!r}: {code} {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach S3 for {key!r}: {exc}") from exc


def build_storage(settings: StorageSettings, data_dir: Path) -> Storage:
    if settings.backend == "aws":
        return S3Storage(
            bucket=settings.aws_bucket_name,
            region=settings.aws_region,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key,
            endpoint_url=settings.aws_endpoint_url,
        )
    return LocalStorage(data_dir / "storage")
