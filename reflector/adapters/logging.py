"""structlog set-up shared by every process: console lines in development, JSON in production."""

import logging
import sys

import structlog

# What the last configure_logging was given: a child process is set up the same way.
_configured: tuple[str, str] = ("console", "info")


def logging_setup() -> tuple[str, str]:
    return _configured


def configure_logging(fmt: str = "console", level: str = "info") -> None:
    global _configured
    _configured = (fmt, level)
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (arq, uvicorn, piccolo) go to stderr too.
    logging.basicConfig(level=max(numeric, logging.INFO), stream=sys.stderr, format="%(name)s %(message)s")
