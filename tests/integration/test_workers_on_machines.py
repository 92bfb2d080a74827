"""Workers on several machines: two `reflector worker` processes that share only PostgreSQL, Redis and an S3
bucket (moto's real server), each with a data directory of its own as two machines have. Ten recordings are
spread over both and each is processed once; the worker killed in the middle of one leaves it to the other,
which resumes it from the last step the bucket holds, not from the start. Without a shared bucket (local
storage), a worker on another machine fails the run with a sentence naming the setting to change."""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
import pytest

from reflector.adapters.storage import S3Storage
from reflector.bootstrap import Services
from reflector.domain.processing.models import RunView
from reflector.domain.transcripts.service import meeting_result, steps_prefix
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.api.conftest import s3_api  # noqa: F401 - fixture
from tests.integration.test_storage import CREDENTIALS, s3_endpoint  # noqa: F401 - fixture
from tests.integration.workers import WorkerProcess, submit, wait_for_status
from tests.paths import REAL, SYNTHETIC

pytestmark = pytest.mark.slow

SHORT = REAL / "jfk.flac"  # 11 s: nine of these
# No LLM: what is shared between machines is the point here, not the analysis.
OPTIONS = PipelineOptions(summarize=False)
# 70 s, without speaker detection: that step is saved at once, beside a transcription of several seconds
# on any CPU, during which the worker is killed with one speech step saved and the other not.
LONG = SYNTHETIC / "standup.wav"
LONG_OPTIONS = PipelineOptions(summarize=False, diarize=False)


def _machine(root: Path, storage: S3Storage, endpoint: str) -> dict[str, str]:
    """A worker machine's settings: a data directory and a temporary directory of its own under `root`; the
    transcripts' files in the shared bucket."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        "DATA_DIR": str(root / "data"),
        "TMPDIR": str(root / "tmp"),
        "TRANSCRIPT_STORAGE_BACKEND": "aws",
        "TRANSCRIPT_STORAGE_AWS_BUCKET_NAME": storage.bucket,
        "TRANSCRIPT_STORAGE_AWS_ENDPOINT_URL": endpoint,
        "TRANSCRIPT_STORAGE_AWS_REGION": CREDENTIALS["region"],
        "TRANSCRIPT_STORAGE_AWS_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
        "TRANSCRIPT_STORAGE_AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
        # Two workers on the CI's two cores, as two one-core machines.
        "MODEL_THREADS": "1",
    }


def _pid_of(holder: str) -> int:
    """The process in a run's holder, "host/pid-namespace:pid:token"."""
    return int(holder.rsplit(":", 2)[1])


class Watch:
    """Which worker process held each job of each run, seen by polling the runs as a monitor would."""

    def __init__(self, services: Services, transcript_ids: list[str]) -> None:
        self._services = services
        self._transcript_ids = transcript_ids
        self.holders: dict[tuple[str, int], int] = {}  # (run id, attempt) -> pid
        self.seen_at: dict[tuple[str, int], float] = {}  # (run id, attempt) -> when first seen running
        self.runs: dict[str, RunView] = {}  # by transcript id, as last seen

    async def until(self, done: Callable[[], bool], within_s: float, why: str) -> None:
        """Poll until `done` says so of what was just seen."""
        deadline = time.monotonic() + within_s
        while True:
            for transcript_id in self._transcript_ids:
                run = await self._services.runs.latest(transcript_id)
                assert run is not None
                self.runs[transcript_id] = run
                if run.status == "running":
                    self.holders[(run.id, run.attempts)] = _pid_of(run.holder)
                    self.seen_at.setdefault((run.id, run.attempts), time.monotonic())
            if done():
                return
            assert time.monotonic() < deadline, why
            await asyncio.sleep(0.1)


def _modified(endpoint: str, bucket: str, key: str) -> object:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["region"],
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    return s3.head_object(Bucket=bucket, Key=key)["LastModified"]


async def test_ten_recordings_spread_over_two_machines_and_a_killed_ones_run_goes_to_the_other(
    s3_api: tuple[Services, httpx.AsyncClient],  # noqa: F811 - the imported fixture
    s3_endpoint: str,  # noqa: F811 - the imported fixture
    settings: Settings,
    tmp_path: Path,
) -> None:
    services, _ = s3_api
    assert isinstance(services.storage, S3Storage)
    bucket = services.storage.bucket

    def worker_on(name: str) -> WorkerProcess:
        env = _machine(tmp_path / name, services.storage, s3_endpoint)
        return WorkerProcess(settings, tmp_path / f"{name}.log", "speech,llm", env=env).start()

    machines = {name: worker_on(name) for name in ("a", "b")}
    workers = list(machines.values())
    try:
        for worker in workers:
            await worker.serving(services, "reflector:speech")
        shorts = [await submit(services, SHORT, OPTIONS, name=f"short {n}") for n in range(9)]
        # Last: both workers take short ones first, and one of them then this.
        long = await submit(services, LONG, LONG_OPTIONS, name="long")
        watch = Watch(services, [*shorts, long])

        # The worker that runs the long recording dies (SIGKILL, as an OOM kill or a lost machine) while
        # it transcribes, its speaker detection saved.
        def half_way() -> bool:
            run = watch.runs.get(long)
            if run is None or run.status != "running" or set(run.timings) & {"transcribe", "assemble"}:
                return False
            return "diarize" in run.timings

        await watch.until(half_way, 420, f"the long recording never got half-way: {watch.runs.get(long)}")
        before = watch.runs[long]
        victim_pid = _pid_of(before.holder)
        victim = next(n for n, w in machines.items() if w.process and w.process.pid == victim_pid)
        survivor_name = next(n for n in machines if n != victim)
        survivor = machines[survivor_name]
        machines[victim].kill()
        killed_at = time.monotonic()
        checkpoint = f"{steps_prefix(long)}diarize.json"
        saved_at = _modified(s3_endpoint, bucket, checkpoint)

        def all_over() -> bool:
            return len(watch.runs) == 10 and all(r.status in ("succeeded", "failed") for r in watch.runs.values())

        await watch.until(all_over, 600, f"not all runs ended: {survivor.log()[-3000:]}")
    finally:
        for worker in workers:
            worker.stop()

    # Every recording ended, each job of each short one run to its end exactly once: claimed once, or, for
    # a short one's analysis the killed worker had in hand (its second queue), taken back once from it.
    for transcript_id in [*shorts, long]:
        transcript = await wait_for_status(services, transcript_id, within_s=1)
        assert transcript.status == "ended", (transcript.error, survivor.log()[-3000:])
    for transcript_id in shorts:
        run = watch.runs[transcript_id]
        assert (run.status, run.attempts - run.crashes) == ("succeeded", 2), run
        assert run.crashes == 0 or (run.crashes == 1 and watch.holders[(run.id, 2)] == victim_pid), run

    # Spread: each machine ran the speech job of some of the short ones.
    short_runs = {watch.runs[t].id for t in shorts}
    speech_by_pid = {run_id: pid for (run_id, attempt), pid in watch.holders.items() if attempt == 1}
    speech_by_pid = {run_id: pid for run_id, pid in speech_by_pid.items() if run_id in short_runs}
    assert set(speech_by_pid.values()) == {w.process.pid for w in workers if w.process is not None}, watch.holders

    # The killed worker's run: taken back once (one crash), finished by the other machine, which kept the
    # step the bucket held rather than doing it again.
    run = watch.runs[long]
    assert (run.status, run.attempts, run.crashes) == ("succeeded", 3, 1), run
    assert survivor.process is not None
    assert watch.holders[(run.id, 2)] == survivor.process.pid
    assert run.timings["diarize"] == before.timings["diarize"], "the saved step was done again"
    assert _modified(s3_endpoint, bucket, checkpoint) == saved_at
    assert "transcribe" in run.timings
    print(
        f"\nspeech jobs of the short ones: {sorted(Counter(speech_by_pid.values()).values())} per worker; "
        f"the killed worker's run taken by the other {watch.seen_at[(run.id, 2)] - killed_at:.1f} s after the kill"
    )
    result = await meeting_result(services.transcripts, long)
    keys = [(w.start, w.text) for w in result.words]
    assert len(result.words) > 50 and len(keys) == len(set(keys)), "duplicated or missing words"

    # Nothing of any transcript was written to either machine's data directory: it needs only its models
    # (and caches). The survivor's scratch copies of the recordings went with each job; the killed worker's
    # is left in its TMPDIR until the next worker starts on its machine.
    for name in machines:
        local = [p.relative_to(tmp_path / name) for p in (tmp_path / name / "data").rglob("*")]
        assert not [p for p in local if p.parts[1] == "storage" or any(t in str(p) for t in [*shorts, long])], local
    assert not list((tmp_path / survivor_name / "tmp").glob("reflector-job-*"))
    assert list((tmp_path / victim / "tmp").glob("reflector-job-*/*"))
    restarted = worker_on(victim)
    try:
        await restarted.serving(services, "reflector:speech")
    finally:
        restarted.stop()
    assert not list((tmp_path / victim / "tmp").glob("reflector-job-*"))


async def test_a_worker_elsewhere_fails_a_run_on_local_storage_with_a_sentence_naming_the_setting(
    clean: Services, settings: Settings, tmp_path: Path
) -> None:
    """TRANSCRIPT_STORAGE_BACKEND=local keeps the recording on the machine that received it: a worker with
    another data directory (another machine) cannot read it, and says what to change."""
    elsewhere = {"DATA_DIR": str(tmp_path / "elsewhere"), "MODEL_THREADS": "1"}
    worker = WorkerProcess(settings, tmp_path / "elsewhere.log", "speech,llm", env=elsewhere).start()
    try:
        await worker.serving(clean, "reflector:speech")
        transcript = await wait_for_status(clean, await submit(clean, SHORT, OPTIONS), within_s=300)
    finally:
        worker.stop()
    assert transcript.status == "error"
    assert "TRANSCRIPT_STORAGE_BACKEND=aws" in transcript.error, transcript.error
    print(f"\n{transcript.error}")
