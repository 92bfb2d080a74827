"""DATA_DIR full (a real 4 MB tmpfs, filled): a write stores nothing and leaves nothing half-written, an
upload is answered 507 with a sentence, a processing step fails with that sentence; once space is back
the same upload completes."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reflector.adapters.storage import LocalStorage, StorageFull
from reflector.bootstrap import Services, wire
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.paths import REAL


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A 4 MB filesystem with about 100 kB left: (its root, the file that fills it)."""
    root = tmp_path / "small"
    root.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)], capture_output=True).returncode:
        pytest.skip("mounting a small filesystem needs root")
    filler = root / "filler"
    try:
        filler.write_bytes(b"\0" * (4 * 1024 * 1024 - 100 * 1024))
        yield root, filler
    finally:
        subprocess.run(["umount", str(root)], check=False)


async def test_a_write_to_a_full_disk_stores_nothing_and_says_why(full_disk: tuple[Path, Path]) -> None:
    root, filler = full_disk
    storage = LocalStorage(root / "store")
    with pytest.raises(StorageFull, match=r"storage \(DATA_DIR\) is full"):
        await storage.put_bytes("transcripts/t1/steps/transcribe.json", b"x" * 1024 * 1024)
    assert not await storage.exists("transcripts/t1/steps/transcribe.json")
    assert [p.name for p in (root / "store").rglob("*") if p.is_file()] == []  # no temp file left

    filler.unlink()
    await storage.put_bytes("transcripts/t1/steps/transcribe.json", b"x" * 1024 * 1024)
    assert await storage.exists("transcripts/t1/steps/transcribe.json")


async def test_an_upload_to_a_full_disk_is_507_and_completes_once_space_is_back(
    clean: Services, settings: Settings, full_disk: tuple[Path, Path]
) -> None:
    root, filler = full_disk
    storage = LocalStorage(root / "store")
    services = wire(settings, clean.redis, clean.bus, storage, clean.queue)
    transcripts, runs = services.transcripts, services.runs
    recording = (REAL / "two_speakers_sample.wav").read_bytes()  # 960 kB: more than is left

    async with serve(create_app(settings, services=services)) as url, httpx.AsyncClient(base_url=url) as http:
        transcript_id = (await http.post("/v1/transcripts", json={"name": "Full disk"})).json()["id"]
        upload = f"/v1/transcripts/{transcript_id}/record/upload"
        chunk = {"chunk": ("meeting.wav", recording, "audio/wav")}
        refused = await http.post(upload, params={"chunk_number": 0, "total_chunks": 1}, files=chunk)
        assert refused.status_code == 507, refused.text
        assert refused.json()["detail"].startswith("The server's storage (DATA_DIR) is full")
        assert (await transcripts.get(transcript_id)).status == "idle"  # nothing taken for complete

        filler.unlink()
        accepted = await http.post(upload, params={"chunk_number": 0, "total_chunks": 1}, files=chunk)
        assert accepted.status_code == 200, accepted.text
        assert (await transcripts.get(transcript_id)).status == "uploaded"
        assert (await runs.latest(transcript_id)) is not None
