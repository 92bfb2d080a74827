"""The addresses participants gave during meetings, in PostgreSQL."""

from typing import Any

from reflector.domain.emails.models import EmailRequestView
from reflector.domain.emails.tables import MeetingEmailRequest
from reflector.domain.ids import new_id


def _view(row: dict[str, Any]) -> EmailRequestView:
    return EmailRequestView(
        id=row["id"], meeting_id=row["meeting_id"], email=row["email"], user_id=row["user_id"],
        created_at=row["created_at"],
    )  # fmt: skip


async def add_request(meeting_id: str, email: str, user_id: str | None, limit: int) -> EmailRequestView | None:
    """The address kept for the meeting; asking again (in any case) keeps the first request. None: the
    meeting has `limit` other addresses already."""
    rows = await MeetingEmailRequest.raw(
        "INSERT INTO meeting_email_request (id, meeting_id, email, user_id, created_at) "
        "SELECT {}, {}, {}, {}, now() "
        "WHERE (SELECT count(*) FROM meeting_email_request WHERE meeting_id = {} AND lower(email) <> lower({})) < {} "
        "ON CONFLICT (meeting_id, lower(email)) DO UPDATE SET email = meeting_email_request.email "
        "RETURNING id, meeting_id, email, user_id, created_at",
        new_id(),
        meeting_id,
        email,
        user_id,
        meeting_id,
        email,
        limit,
    )
    return _view(rows[0]) if rows else None


async def requests_of(meeting_id: str) -> list[EmailRequestView]:
    rows = await MeetingEmailRequest.raw(
        "SELECT id, meeting_id, email, user_id, created_at FROM meeting_email_request "
        "WHERE meeting_id = {} ORDER BY created_at",
        meeting_id,
    )
    return [_view(r) for r in rows]
