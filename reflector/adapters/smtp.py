"""Sending one e-mail by SMTP (aiosmtplib): a text part, an HTML part, and attachments.

What the server answered is told, not raised: a 4xx reply, a refused or dropped connection and a timeout
are temporary (the sender may try again later, as RFC 5321 says of 4yz replies); a 5xx reply is permanent
(the address or the message is refused for good). The password is never logged or put in an error.
"""

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import msgspec


class Attachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str  # "text/markdown", "text/plain"
    data: bytes


class Outgoing(msgspec.Struct, frozen=True):
    to: str
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = []


class Sent(msgspec.Struct, frozen=True):
    """What the server made of one message: delivered, or refused (temporarily or for good) and why."""

    delivered: bool
    temporary: bool = False
    code: int | None = None  # the SMTP reply code of a refusal; None when there was no answer
    error: str = ""
    message_id: str = ""


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        tls: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._tls = tls
        self._username = username
        self._password = password
        self._timeout_s = timeout_s
        self._tls_context = tls_context

    def compose(self, mail: Outgoing) -> EmailMessage:
        """The message as it goes on the wire: multipart/mixed of (text | HTML) and the attachments."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        domain = self._sender.rpartition("@")[2].strip("> ") or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        for attachment in mail.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
        return message

    async def send(self, mail: Outgoing) -> Sent:
        message = self.compose(mail)
        message_id = str(message["Message-ID"])
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls == "tls",
                start_tls=self._tls == "starttls",
                tls_context=self._tls_context,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused: its code says whether for now or for good.
            codes = [r.code for r in exc.recipients] or [550]
            return _refused(codes[0], "; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        except aiosmtplib.SMTPResponseException as exc:
            return _refused(exc.code, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # No answer: the server is away, unreachable, dropped us or timed out; all worth a later try.
            return Sent(delivered=False, temporary=True, error=f"{type(exc).__name__}: {exc}")
        return Sent(delivered=True, message_id=message_id)


def _refused(code: int, error: str) -> Sent:
    return Sent(delivered=False, temporary=400 <= code < 500, code=code, error=error)
