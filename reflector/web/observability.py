"""Prometheus metrics at `/metrics` and Sentry for the web process.

Request latency is measured here; processing figures are read from Redis and PostgreSQL at scrape
time, since the workers that produce them are other processes.
"""

import os
import time
from typing import Any

from litestar import Response, get
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.plugins import InitPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from reflector.adapters.error_tracking import init_error_tracking
from reflector.bootstrap import QueueFigures, Services, queue_figures
from reflector.domain.processing.figures import STEP_BUCKETS_S, ProcessingFigures, processing_figures
from reflector.domain.rooms.figures import RoomFigures, room_figures
from reflector.settings import Settings

# Set (by `reflector web` with several processes) before prometheus_client is imported, prometheus_client's
# variable makes each process keep its request figures in a file there, and `/metrics` adds up every process's.
_MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def init_web_error_tracking(settings: Settings) -> None:
    init_error_tracking(settings.server.sentry_dsn, process="web")


class _RequestTimer(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, latency: Histogram) -> None:
        self._latency = latency

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets when the handler dies before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_and_note)
        finally:
            # The route template, not the path, so ids never become label values.
            route = scope.get("path_template") or "unmatched"
            self._latency.labels(scope["method"], route, str(status)).observe(time.perf_counter() - started)


class _QueueCollector(Collector):
    """Each job queue as an autoscaler reads it: jobs by state, the oldest waiting job's age, jobs finished."""

    def __init__(self, figures: list[QueueFigures]) -> None:
        self._figures = figures

    def collect(self) -> Any:
        jobs = GaugeMetricFamily(
            "reflector_queue_jobs",
            "Jobs in each queue: waiting (due, no worker has it), running, deferred (due later)",
            labels=["queue", "state"],
        )
        oldest = GaugeMetricFamily(
            "reflector_queue_oldest_job_age_seconds",
            "How long the oldest waiting job of each queue has been due; 0 when none waits",
            labels=["queue"],
        )
        finished = CounterMetricFamily(
            "reflector_queue_jobs_finished",
            "Jobs the workers ended on each queue, succeeded or failed",
            labels=["queue"],
        )
        for queue in self._figures:
            for state, count in (("waiting", queue.waiting), ("running", queue.running), ("deferred", queue.deferred)):
                jobs.add_metric([queue.queue, state], count)
            oldest.add_metric([queue.queue], queue.oldest_wait_s)
            finished.add_metric([queue.queue], queue.finished)
        metrics: list[Metric] = [jobs, oldest, finished]
        yield from metrics


class _ProcessingCollector(Collector):
    """One scrape's processing figures as Prometheus metric families."""

    def __init__(self, figures: ProcessingFigures) -> None:
        self._figures = figures

    def collect(self) -> Any:
        figures = self._figures
        runs = GaugeMetricFamily("reflector_pipeline_runs", "Processing runs by status", labels=["status"])
        for status, count in figures.runs.items():
            runs.add_metric([status], count)
        steps = HistogramMetricFamily(
            "reflector_step_duration_seconds", "Time of each finished pipeline step", labels=["step"]
        )
        rtf = GaugeMetricFamily(
            "reflector_step_real_time_factor", "Step time over audio time, over all runs", labels=["step"]
        )
        for step in figures.steps:
            bounds = [(str(bound), count) for bound, count in zip(STEP_BUCKETS_S, step.buckets, strict=True)]
            steps.add_metric([step.step], [*bounds, ("+Inf", step.count)], sum_value=step.seconds)
            if step.real_time_factor is not None:
                rtf.add_metric([step.step], step.real_time_factor)
        hours = CounterMetricFamily("reflector_audio_processed_hours", "Hours of audio processed successfully")
        hours.add_metric([], figures.audio_seconds_processed / 3600)
        metrics: list[Metric] = [runs, steps, rtf, hours]
        yield from metrics


class _WebhookCollector(Collector):
    """Rooms' webhook deliveries by status and their attempts by outcome, as stored."""

    def __init__(self, by_status: dict[str, int], by_outcome: dict[str, int]) -> None:
        self._by_status = by_status
        self._by_outcome = by_outcome

    def collect(self) -> Any:
        deliveries = GaugeMetricFamily(
            "reflector_webhook_deliveries", "Webhook deliveries (events sent to a room) by status", labels=["status"]
        )
        for status, count in self._by_status.items():
            deliveries.add_metric([status], count)
        attempts = CounterMetricFamily(
            "reflector_webhook_attempts", "Webhook delivery attempts by outcome", labels=["outcome"]
        )
        for outcome, count in self._by_outcome.items():
            attempts.add_metric([outcome], count)
        metrics: list[Metric] = [deliveries, attempts]
        yield from metrics


class _RoomsCollector(Collector):
    """Active meetings, room recordings by status, and when the workers' periodic jobs over rooms last ran."""

    def __init__(self, figures: RoomFigures) -> None:
        self._figures = figures

    def collect(self) -> Any:
        figures = self._figures
        meetings = GaugeMetricFamily(
            "reflector_meetings_active", "Active meetings, occupied or empty", labels=["occupied"]
        )
        for state, count in figures.active_meetings.items():
            meetings.add_metric(["true" if state == "occupied" else "false"], count)
        recordings = GaugeMetricFamily(
            "reflector_room_recordings", "Recordings the video platforms made, by status", labels=["status"]
        )
        for status, count in figures.recordings.items():
            recordings.add_metric([status], count)
        runs = GaugeMetricFamily(
            "reflector_periodic_job_last_run_timestamp_seconds",
            "When each periodic job over rooms last ran to its end (meetings, calendars, recordings)",
            labels=["job"],
        )
        for job, at in figures.last_runs.items():
            runs.add_metric([job], at)
        metrics: list[Metric] = [meetings, recordings, runs]
        yield from metrics


class Observability(InitPlugin):
    """Adds the request timer and `/metrics` to an app; each app has its own registry (several web processes:
    their shared files)."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self._latency = Histogram(
            "reflector_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS_S,
            registry=self._registry,
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        registry = self._registry
        if _MULTIPROCESS_DIR in os.environ:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)

        @get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE_LATEST, opt={"access": "open"})
        async def metrics(services: Services) -> Response[bytes]:
            scrape = CollectorRegistry(auto_describe=False)
            scrape.register(_QueueCollector(await queue_figures(services)))
            scrape.register(_ProcessingCollector(await processing_figures()))
            scrape.register(_RoomsCollector(await room_figures(services.redis)))
            scrape.register(_WebhookCollector(*await services.webhooks.figures()))
            return Response(generate_latest(registry) + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)

        app_config.middleware.append(_RequestTimer(self._latency))
        app_config.route_handlers.append(metrics)
        return app_config
