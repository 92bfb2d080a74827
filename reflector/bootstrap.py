"""The composition root: the web app, the workers and the CLI all build their services here."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from redis.asyncio import Redis

from reflector import platform_binding
from reflector.adapters.calendar_http import CalendarHttp
from reflector.adapters.db import CONNECT_TIMEOUT_S, close_pool, configure_engine, start_pool
from reflector.adapters.events import EventBus
from reflector.adapters.queue import ArqJobQueue, QueueFigures
from reflector.adapters.recording_queue import RecordingQueue
from reflector.adapters.smtp import SmtpMailer
from reflector.adapters.storage import S3Storage, Storage, build_storage
from reflector.adapters.webhook_http import WebhookHttp
from reflector.adapters.zulip_http import ZulipHttp
from reflector.domain.auth.oidc import OidcClient
from reflector.domain.auth.service import AuthService
from reflector.domain.auth.sessions import SessionStore
from reflector.domain.emails import jobs as email_jobs
from reflector.domain.emails.service import EmailService
from reflector.domain.live.feed import LiveFeed
from reflector.domain.live.recordings import LiveRecordingPolicy
from reflector.domain.processing import jobs as processing_jobs
from reflector.domain.processing.lifecycle import RunListeners
from reflector.domain.processing.service import ProcessingService
from reflector.domain.retention.service import RetentionService
from reflector.domain.rooms.bucket_recordings import RecordingNotices
from reflector.domain.rooms.calendar_sync import CalendarService
from reflector.domain.rooms.lifecycle import MeetingPolicy
from reflector.domain.rooms.models import VideoPlatform
from reflector.domain.rooms.recordings import RecordingService
from reflector.domain.rooms.service import MeetingService, RoomService
from reflector.domain.tables import ALL_TABLES
from reflector.domain.transcripts.editing import TranscriptEditor
from reflector.domain.transcripts.service import TranscriptService
from reflector.domain.transcripts.uploads import ChunkedUploads, UploadLimits
from reflector.domain.webhooks import jobs as webhook_jobs
from reflector.domain.webhooks.service import WebhookService
from reflector.domain.zulip import jobs as zulip_jobs
from reflector.domain.zulip.service import ZulipService
from reflector.settings import Settings

log = structlog.get_logger(__name__)

# Every job a worker can serve: processing's, and the deliveries to outside servers (webhooks, e-mails, Zulip
# posts) on their own queue.
ALL_JOBS = (*processing_jobs.JOBS, *webhook_jobs.JOBS, *email_jobs.JOBS, *zulip_jobs.JOBS)


@dataclass
class Services:
    settings: Settings
    redis: Redis
    bus: EventBus
    storage: Storage
    transcripts: TranscriptService
    runs: ProcessingService
    queue: ArqJobQueue
    auth: AuthService
    recording_policy: LiveRecordingPolicy
    feed: LiveFeed  # live audio between the web process receiving it and the live worker
    editor: TranscriptEditor
    uploads: ChunkedUploads
    rooms: RoomService
    meetings: MeetingService
    recordings: RecordingService  # a platform's recording of a meeting made into a transcript
    calendars: CalendarService  # rooms' calendar feeds, and meetings opened for their events
    webhooks: WebhookService  # rooms' outbound webhooks: told of runs and meetings ending, sending them
    emails: EmailService  # finished transcripts e-mailed to rooms' addresses and to participants who asked
    zulip: ZulipService  # transcripts posted to Zulip: on demand, and for rooms that ask, when they end
    retention: RetentionService  # the trash, purged after TRASH_DAYS, and rooms' audio kept N days only
    # Present with AUTH_BACKEND=oidc: the provider's client and the browser sessions.
    oidc: OidcClient | None = None
    sessions: SessionStore | None = None
    # The bucket the video platforms write recordings to, when it is not the transcript store.
    recordings_bucket: Storage | None = None


async def queue_figures(services: Services) -> list[QueueFigures]:
    """Every job queue's figures (waiting, running, deferred, the oldest's wait, jobs finished), for `/metrics`."""
    return await services.queue.figures(sorted({job.queue_name for job in ALL_JOBS}))


async def start_services(settings: Settings) -> Services:
    if settings.database.url is None or settings.redis.url is None:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be known here (reflector run sets them)")
    engine = configure_engine(settings.database.url, ALL_TABLES)
    await start_pool(engine, settings.database.pool_max)
    # A Redis that does not answer fails a request in seconds (a 503), rather than holding it.
    redis = Redis.from_url(settings.redis.url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    bus = EventBus(redis)
    storage = build_storage(settings.storage, settings.data_dir)
    await storage.start()
    queue = await ArqJobQueue.connect(settings.redis.url)
    services = wire(settings, redis, bus, storage, queue)
    services.recordings_bucket = recordings_bucket(settings)
    if services.recordings_bucket is not None:
        await services.recordings_bucket.start()
        services.retention.bucket = services.recordings_bucket  # a purge deletes the platform's recordings too
    if settings.auth.backend == "oidc":
        services.oidc = OidcClient(settings.auth)
        lifetime = timedelta(days=settings.auth.session_days)
        services.sessions = SessionStore(redis, settings.auth.secret_key, lifetime, bus)
    return services


def video_platforms(settings: Settings) -> dict[str, VideoPlatform]:
    """The clients of the video platforms the settings configure, by name (reflector.platform_binding); a
    room on any other platform is refused a meeting with "No video platform is configured for ..."."""
    return platform_binding.video_platforms(settings.platforms)


def recordings_bucket(settings: Settings) -> Storage | None:
    """The bucket Daily and LiveKit write per-participant recordings to (DAILYCO_STORAGE_AWS_BUCKET_NAME,
    LIVEKIT_STORAGE_AWS_BUCKET_NAME: one bucket, settings.check_platforms) through the transcript store's
    S3 credentials and endpoint; None: the platforms write to the transcript store itself."""
    platforms, store = settings.platforms, settings.storage
    bucket = platforms.daily_storage_bucket or platforms.livekit_storage_bucket
    if not bucket:
        return None
    region = platforms.daily_storage_region if platforms.daily_storage_bucket else platforms.livekit_storage_region
    return S3Storage(
        bucket=bucket,
        region=region or store.aws_region,
        access_key_id=store.aws_access_key_id,
        secret_access_key=store.aws_secret_access_key,
        endpoint_url=store.aws_endpoint_url,
    )


def bucket_named(settings: Settings) -> Callable[[str], Storage | None]:
    """A platform's recordings bucket by name (Whereby's, as its notifications name it; "": Daily's,
    DAILYCO_STORAGE_AWS_BUCKET_NAME, where its cloud recordings are), not started, read with the transcript
    store's S3 credentials, region and endpoint; None when there is none."""
    store = settings.storage

    def named(name: str) -> Storage | None:
        name = name or settings.platforms.daily_storage_bucket or ""
        if not name:
            return None
        return S3Storage(
            bucket=name,
            region=store.aws_region,
            access_key_id=store.aws_access_key_id,
            secret_access_key=store.aws_secret_access_key,
            endpoint_url=store.aws_endpoint_url,
        )

    return named


def recording_notices(settings: Settings, services: Services) -> RecordingNotices | None:
    """The poller of the queue a recordings bucket notifies (AWS_PROCESS_RECORDING_QUEUE_URL), or None."""
    url, store = settings.platforms.recording_queue_url, settings.storage
    if not url:
        return None
    queue = RecordingQueue(
        url,
        region=store.aws_region,
        access_key_id=store.aws_access_key_id,
        secret_access_key=store.aws_secret_access_key,
        endpoint_url=store.aws_endpoint_url,
    )
    return RecordingNotices(queue, services.recordings, settings.platforms.recording_queue_wait_s)


def wire(settings: Settings, redis: Redis, bus: EventBus, storage: Storage, queue: ArqJobQueue) -> Services:
    """Every service, built once over started connections (a test builds them again over another store
    or with other settings)."""
    transcripts = TranscriptService(storage, bus)
    rooms = RoomService(transcripts)
    sender = WebhookHttp(allow_private=settings.webhooks.allow_private_targets)
    webhooks = WebhookService(rooms, transcripts, sender, queue, settings.webhooks, settings.server.base_url)
    zulip = ZulipService(
        transcripts, rooms, zulip_client(settings), settings.server.base_url, queue, settings.zulip.retry_delays
    )
    auth = AuthService(bus)
    mailer = smtp_mailer(settings)
    emails = EmailService(transcripts, rooms, auth, mailer, queue, settings.email, settings.server.base_url)
    # A room's webhook hears of its transcripts' runs ending and of its meetings starting and ending; its
    # Zulip stream and its e-mail addresses (the room's, the participants' who asked) of its finished ones.
    listeners = RunListeners(webhooks, zulip, emails)
    runs = ProcessingService(transcripts, queue, settings.worker.stale_after_s, listener=listeners)
    feed = LiveFeed(redis)
    recording_policy = LiveRecordingPolicy(redis, feed, transcripts, runs, settings.data_dir / "live")
    platforms = video_platforms(settings)
    limits = UploadLimits(max_bytes=settings.server.max_upload_bytes, max_seconds=settings.server.max_audio_seconds)
    meetings = MeetingService(redis, rooms, platforms, listener=webhooks)
    webhooks.meetings = meetings
    emails.meetings = meetings  # a participant's request names a meeting
    meetings.lifecycle.policy = MeetingPolicy(
        empty_close_s=settings.platforms.meeting_empty_close_s, join_grace_s=settings.platforms.meeting_join_grace_s
    )
    calendar_http = CalendarHttp(allow_private=settings.platforms.calendar_allow_private)
    calendars = CalendarService(redis, meetings, calendar_http, settings.server.base_url)
    webhooks.calendars = calendars  # a transcript.completed names its meeting's calendar event
    recordings = RecordingService(transcripts, runs, platforms, bucket_named(settings))
    return Services(
        settings,
        redis,
        bus,
        storage,
        transcripts,
        runs,
        queue,
        auth,
        recording_policy=recording_policy,
        feed=feed,
        editor=TranscriptEditor(transcripts),
        uploads=ChunkedUploads(transcripts, runs, limits, redis),
        rooms=rooms,
        meetings=meetings,
        recordings=recordings,
        calendars=calendars,
        webhooks=webhooks,
        zulip=zulip,
        emails=emails,
        retention=RetentionService(transcripts, rooms, recordings, redis, settings.retention),
    )


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    """The SMTP server the settings name (SMTP_*), or None: no e-mail is sent."""
    e = settings.email
    if not e.smtp_host:
        return None
    return SmtpMailer(
        e.smtp_host, e.port, sender=e.smtp_from, tls=e.smtp_tls, username=e.smtp_username,
        password=e.smtp_password, timeout_s=e.smtp_timeout_s,
    )  # fmt: skip


def zulip_client(settings: Settings) -> ZulipHttp | None:
    """The Zulip bot the settings configure (ZULIP_URL, ZULIP_BOT_EMAIL, ZULIP_API_KEY), or None."""
    z = settings.zulip
    if not (z.url and z.bot_email and z.api_key):
        return None
    return ZulipHttp(z.url, z.bot_email, z.api_key, timeout_s=z.timeout_s)


async def stop_services(services: Services) -> None:
    from reflector.adapters.db import current_engine

    await services.queue.close()
    await platform_binding.close_platforms(dict(services.meetings.platforms))
    await services.calendars.close()
    await services.zulip.close()
    if services.oidc is not None:
        await services.oidc.close()
    await services.storage.close()
    if services.recordings_bucket is not None:
        await services.recordings_bucket.close()
    await services.redis.aclose()
    engine = current_engine()
    if engine is not None:
        await close_pool(engine)
