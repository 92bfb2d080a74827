"""The `reflector` command: run the product, or process and inspect recordings from a shell."""

import argparse
import os
import sys
import warnings
from pathlib import Path

from reflector.adapters.logging import configure_logging
from reflector.settings import SettingsError, load_settings
from reflector.user_error import UserError


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--language", default="en", help="spoken language code, or 'auto' to detect it")
    p.add_argument("--speakers", type=int, default=None, metavar="N", help="known number of speakers")
    p.add_argument("--no-diarize", action="store_true", help="do not tell speakers apart")
    p.add_argument("--no-summary", action="store_true", help="skip topics, title, summaries, action items")
    p.add_argument(
        "--participants",
        default="",
        metavar="NAMES",
        help='comma-separated names of the people in the recording ("Maria,Tom,Priya"): heard right, named as owners',
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reflector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start everything: services, migrations, web and workers")
    run.add_argument("--port", type=int, default=None, help="web port (default 1250, or PORT)")
    run.add_argument("--host", default=None)

    web = sub.add_parser("web", help="the web process alone (needs DATABASE_URL and REDIS_URL)")
    web.add_argument("--port", type=int, default=None)
    web.add_argument("--host", default=None)

    worker = sub.add_parser("worker", help="a worker process (needs DATABASE_URL and REDIS_URL)")
    worker.add_argument(
        "--queues", default="speech,llm,webhooks", help="comma-separated: speech, speech-long, llm, webhooks"
    )
    worker.add_argument("--burst", action="store_true", help="stop when the queues are empty")

    sub.add_parser("live", help="the live worker: captions for recordings in progress (needs the URLs)")
    sub.add_parser("migrate", help="apply the database migrations")
    sub.add_parser("models", help="assemble and check the model files (done once)")

    process = sub.add_parser("process", help="run the whole pipeline on FILE in this process")
    process.add_argument("file", type=Path)
    process.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    process.add_argument("--format", default="json", choices=["json", "txt", "vtt", "srt", "md"])
    _add_pipeline_options(process)

    submit = sub.add_parser("submit", help="store FILE and queue it for the workers")
    submit.add_argument("file", type=Path)
    submit.add_argument("--name", default="")
    submit.add_argument("--wait", action="store_true", help="follow the progress until it ends")
    _add_pipeline_options(submit)

    show = sub.add_parser("show", help="print a stored transcript")
    show.add_argument("id")
    show.add_argument("--format", default="txt", choices=["json", "txt", "vtt", "srt", "md"])

    user = sub.add_parser("user", help="list users, or change a user's role")
    user.add_argument("action", choices=["list", "promote", "demote"])
    user.add_argument("who", nargs="?", help="the user's email or id (promote, demote)")

    platforms = sub.add_parser("platforms", help="check the video platforms; create or revive Daily's webhook")
    platforms.add_argument("action", choices=["check"])
    platforms.add_argument("--webhook-url", default=None, help="default: BASE_URL/v1/daily/webhook")
    return parser


_INTERACTIVE = {"process", "submit", "show", "user", "platforms"}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"reflector: {exc}", file=sys.stderr)
        return 2
    level = settings.log_level
    if args.command in _INTERACTIVE and "LOG_LEVEL" not in os.environ:
        level = "warning"  # the progress display says what is happening; logs would scroll it away
        # Libraries' warnings (piccolo's about a table name, its failed connection) are not for the
        # person at the prompt: what went wrong is said once, as a sentence.
        warnings.filterwarnings("ignore")
        os.environ["PYTHONWARNINGS"] = "ignore"  # and so are a child process's (the speech stage's)
    configure_logging(settings.log_format, level)
    from reflector.entrypoints import commands

    try:
        return commands.dispatch(args, settings)
    except UserError as exc:
        print(f"reflector: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
