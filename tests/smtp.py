"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, on a free port, in its own thread): it keeps
every message it accepts, parsed, and can be told to refuse the next messages with a reply of our choice
(e.g. 451: a temporary failure the sender must try again after)."""

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.net import free_port


class Inbox:
    """aiosmtpd's handler: what it accepted, and the refusals it still has to give."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refusals: list[str] = []  # replies to DATA, first one next
        self.refused: list[str] = []  # the refusals given
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._changed:
            if self.refusals:
                reply = self.refusals.pop(0)
                self.refused.append(reply)
                self._changed.notify_all()
                return reply
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def refuse_next(self, *replies: str) -> None:
        with self._changed:
            self.refusals.extend(replies)

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[EmailMessage]:
        """The first `count` messages, once they have all arrived (AssertionError after the timeout)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.messages)} message(s) arrived of {count} expected"
                self._changed.wait(left)
            return list(self.messages[:count])


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
