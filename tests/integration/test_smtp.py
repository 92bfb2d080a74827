"""The SMTP adapter against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, and what a refusal or
an absent server is taken for."""

from reflector.adapters.smtp import Attachment, Outgoing, SmtpMailer
from reflector.settings import SettingsError, load_settings
from tests.net import free_port
from tests.smtp import smtp_server

MAIL = Outgoing(
    to="maria@example.org",
    subject="Stand-up: the transcript",
    text="Plain words, über alles.",
    html="<p>Plain <b>words</b>, über alles.</p>",
    attachments=[Attachment("stand-up.md", "text/markdown", b"# Stand-up\n\nMaria: hello\n")],
)


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", port, sender="Reflector <reflector@example.org>", tls="none", timeout_s=5)


async def test_a_message_arrives_with_text_html_and_its_attachment() -> None:
    with smtp_server() as (inbox, port):
        sent = await mailer(port).send(MAIL)
        [message] = inbox.wait_for(1)
    assert sent.delivered and sent.message_id == message["Message-ID"]
    assert inbox.envelopes == [("reflector@example.org", ["maria@example.org"])]
    assert message["Subject"] == "Stand-up: the transcript"
    assert message["From"] == "Reflector <reflector@example.org>"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and body.get_content().strip() == "Plain words, über alles."
    assert html is not None and "<b>words</b>" in html.get_content()
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "stand-up.md"
    assert attached.get_content_type() == "text/markdown"
    assert attached.get_content() == "# Stand-up\n\nMaria: hello\n"


async def test_a_451_is_temporary_and_a_550_permanent() -> None:
    with smtp_server() as (inbox, port):
        inbox.refuse_next("451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such user")
        busy = await mailer(port).send(MAIL)
        unknown = await mailer(port).send(MAIL)
        delivered = await mailer(port).send(MAIL)
    assert (busy.delivered, busy.temporary, busy.code) == (False, True, 451)
    assert "Mailbox busy" in busy.error
    assert (unknown.delivered, unknown.temporary, unknown.code) == (False, False, 550)
    assert delivered.delivered
    assert len(inbox.messages) == 1


async def test_no_server_is_temporary() -> None:
    sent = await mailer(free_port()).send(MAIL)
    assert not sent.delivered and sent.temporary and sent.code is None and sent.error


def test_smtp_settings_are_read_and_checked() -> None:
    email = load_settings({"SMTP_HOST": "mail.example.org", "SMTP_FROM": "r@example.org", "SMTP_TLS": "tls"}).email
    assert (email.smtp_host, email.port, email.smtp_tls) == ("mail.example.org", 465, "tls")
    assert email.attachment_format == "md"
    assert load_settings({"SMTP_HOST": "h", "SMTP_FROM": "r@e.org", "SMTP_PORT": "2525"}).email.port == 2525
    for bad in ({"SMTP_HOST": "h"}, {"SMTP_TLS": "ssl"}, {"EMAIL_RETRY_SCHEDULE": "soon"}):
        try:
            load_settings(bad)
        except SettingsError as exc:
            assert next(iter(bad)) in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")
