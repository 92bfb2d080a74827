"""Full-text search over transcripts, Reflector's `GET /v1/transcripts/search`."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import get
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from reflector.domain.auth.models import Caller
from reflector.domain.transcripts.access import listing_for
from reflector.domain.transcripts.search import SearchQuery, search_transcripts
from reflector.web.api import schemas as s


def _moment(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or date-time; one without a zone is UTC, the zone created_at is stored in."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationException(
            f"'{name}' must be an ISO 8601 date or date-time, e.g. 2025-01-31T09:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_MOMENT_DOC = "ISO 8601 date or date-time on created_at (UTC when no zone is given)"


@get("/v1/transcripts/search", tags=["transcripts"], opt={"access": "listing"})
async def transcripts_search(
    caller: Caller,
    q: str,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    offset: Annotated[int, Parameter(ge=0, le=s.MAX_OFFSET)] = 0,
    room_id: str | None = None,
    source_kind: Literal["room", "live", "file"] | None = None,
    from_: Annotated[str | None, Parameter(query="from", description=_MOMENT_DOC)] = None,
    to: Annotated[str | None, Parameter(description=_MOMENT_DOC)] = None,
) -> s.SearchResponse:
    page = await search_transcripts(
        SearchQuery(
            listing=listing_for(caller),
            text=q,
            limit=limit,
            offset=offset,
            room_id=room_id,
            source_kind=source_kind,
            created_from=_moment(from_, "from"),
            created_to=_moment(to, "to"),
        )
    )
    results = [
        s.SearchResult(
            id=hit.id,
            title=hit.title,
            user_id=hit.user_id,
            room_id=hit.room_id,
            room_name=None,
            source_kind=hit.source_kind,
            created_at=hit.created_at,
            status=hit.status,
            rank=hit.rank,
            duration=hit.duration,
            search_snippets=hit.snippets,
            total_match_count=hit.match_count,
            change_seq=hit.change_seq,
        )
        for hit in page.hits
    ]
    return s.SearchResponse(results=results, total=page.total, query=q, limit=limit, offset=offset)


ROUTES = [transcripts_search]
