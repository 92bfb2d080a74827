"""Browse: search and filter the transcripts, reprocess or delete one; the rows follow live events.

One handler serves the page and its `results` fragment (what htmx swaps when the search changes, a
page is turned or an event arrives). Reprocess and delete are plain POST forms answered with a
redirect back to the view they came from, so they work without JavaScript too.
"""

import asyncio
import math
import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, ClassVar, cast, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
import structlog
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response
from markupsafe import Markup, escape

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.transcripts.access import Listing, listing_for, manages
from reflector.domain.transcripts.models import NoUpload, SourceKind, Status, TranscriptLocked, TranscriptView
from reflector.domain.transcripts.search import SearchHit, SearchQuery, search_transcripts
from reflector.web.htmx import is_htmx, render

log = structlog.get_logger(__name__)

PAGE_SIZE = 20
# Past any real listing and far inside PostgreSQL's bigint OFFSET: a deeper page number shows this page.
MAX_PAGE = 100_000
SOURCES: dict[str, str] = {"file": "Uploaded file", "live": "Live", "room": "Room"}
STATUS_LABELS: dict[str, tuple[str, str]] = {  # status: (icon, label)
    "ended": ("✓", "Ended"),
    "error": ("✕", "Error"),
    "idle": ("○", "Idle"),
    "uploaded": ("↑", "Uploaded"),
    "processing": ("⚙", "Processing"),
    "recording": ("●", "Recording"),
}
assert set(SOURCES) == set(get_args(SourceKind)) and set(STATUS_LABELS) == set(get_args(Status))
_WORD = re.compile(r"\w+")  # the search's own idea of a word, so marks fall where it matched


class BrowseFilters(msgspec.Struct, frozen=True):
    """What the view shows, exactly as its URL says (empty means "any")."""

    q: str = ""
    source: str = ""
    status: str = ""
    from_: str = msgspec.field(default="", name="from")
    to: str = ""
    page: int = 1

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.source or self.status or self.from_ or self.to)

    def url(self, page: int | None = None) -> str:
        """The canonical address of this view (or of another page of it): only what is set, in one order."""
        params = msgspec.structs.asdict(msgspec.structs.replace(self, page=page or self.page))
        pairs = [("from" if k == "from_" else k, v) for k, v in params.items() if v and not (k == "page" and v == 1)]
        return "/browse" + (f"?{urlencode(pairs)}" if pairs else "")


class BrowseRow(msgspec.Struct, frozen=True):
    id: str
    title: Markup  # the matched words in <mark>, the rest escaped
    plain_title: str
    status: str
    icon: str
    status_label: str
    busy: bool  # a run is queued or running: reprocessing is refused until it ends
    source: str
    created_at: datetime
    duration: str
    snippets: list[Markup]
    editable: bool  # the caller may reprocess and delete it (an anonymous visitor in PUBLIC_MODE may not)


class PendingDelete(msgspec.Struct, frozen=True):
    """What the confirmation names, so the right transcript is deleted."""

    id: str
    title: str
    source: str
    created_at: datetime


class ActionForm(msgspec.Struct, frozen=True):
    next: str = "/browse"
    confirmed: str = ""


def _parse_date(value: str, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"“{name}” must be a date like 2025-01-31; that filter is ignored.")
        return None


# Without a caller to list for, a query may find only what anyone may see.
_NOBODY = Listing(public_only=True)


def filters_from(params: dict[str, str], listing: Listing = _NOBODY) -> tuple[BrowseFilters, list[str], SearchQuery]:
    """The view a URL asks for, what was wrong with it (said, then left out), and the search to run."""
    problems: list[str] = []
    source, status = params.get("source", ""), params.get("status", "")
    if source and source not in SOURCES:
        problems.append(f"There is no source “{source}”; showing all sources.")
        source = ""
    if status and status not in STATUS_LABELS:
        problems.append(f"There is no status “{status}”; showing every status.")
        status = ""
    start = _parse_date(params.get("from", ""), "From", problems)
    end = _parse_date(params.get("to", ""), "To", problems)
    if start and end and start > end:
        problems.append("“From” is after “To”; the dates are ignored.")
        start = end = None
    try:
        page = min(max(1, int(params.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    filters = BrowseFilters(
        q=params.get("q", "").strip(),
        source=source,
        status=status,
        from_=start.isoformat() if start else "",
        to=end.isoformat() if end else "",
        page=page,
    )
    # Dates are whole UTC days, "to" included: the zone created_at is stored in.
    query = SearchQuery(
        listing=listing,
        text=filters.q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        source_kind=cast(SourceKind, source) if source else None,
        status=cast(Status, status) if status else None,
        created_from=datetime.combine(start, time.min, UTC) if start else None,
        created_to=datetime.combine(end, time.max, UTC) if end else None,
    )
    return filters, problems, query


def highlighted(text: str, words: frozenset[str]) -> Markup:
    """`text` escaped, with the words the search matched wrapped in <mark>: transcript text is never HTML."""
    pieces: list[Markup] = []
    done = 0
    for match in _WORD.finditer(text):
        if match.group().lower() in words:
            pieces += [escape(text[done : match.start()]), Markup("<mark>%s</mark>") % match.group()]
            done = match.end()
    return Markup("").join([*pieces, escape(text[done:])])


def _duration(milliseconds: float) -> str:
    if milliseconds <= 0:
        return ""
    seconds = round(milliseconds / 1000)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _row(hit: SearchHit, busy: bool, words: frozenset[str], caller: Caller) -> BrowseRow:
    status = "processing" if busy else hit.status
    icon, label = STATUS_LABELS[status]
    title = hit.title or hit.name or "Untitled meeting"
    return BrowseRow(
        id=hit.id,
        title=highlighted(title, words),
        plain_title=title,
        status=status,
        icon=icon,
        status_label=label,
        busy=busy or hit.status == "processing",
        source=SOURCES[hit.source_kind],
        created_at=hit.created_at,
        duration=_duration(hit.duration),
        snippets=[highlighted(snippet, words) for snippet in hit.snippets],
        editable=manages(caller, hit.user_id),
    )


async def _context(services: Services, params: dict[str, str], caller: Caller) -> dict[str, Any]:
    filters, problems, query = filters_from(params, listing_for(caller))
    found = await search_transcripts(query)
    runs = await asyncio.gather(*(services.runs.active_run(hit.id) for hit in found.hits))
    pages = math.ceil(found.total / PAGE_SIZE)
    return {
        "nav": "browse",
        "filters": filters,
        "problems": problems,
        "rows": [
            _row(hit, run is not None, found.matched_words, caller) for hit, run in zip(found.hits, runs, strict=True)
        ],
        "total": found.total,
        "first": query.offset + 1,
        "last": query.offset + len(found.hits),
        "pages": pages,
        "page_numbers": _page_numbers(filters.page, pages),
        "self_url": filters.url(),
        "sources": SOURCES,
        "statuses": STATUS_LABELS,
    }


def _page_numbers(current: int, pages: int) -> list[int | None]:
    """First, last and the pages around the current one; None where a run of pages is left out."""
    shown = sorted({1, pages, *range(current - 2, current + 3)} & set(range(1, pages + 1)))
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _params_of(next_url: str) -> dict[str, str]:
    """The view a form was posted from; anything but a browse address (an open redirect) means the default."""
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or parts.path != "/browse":
        return {}
    return dict(parse_qsl(parts.query))


def _view(request: Request, context: dict[str, Any]) -> Response[Any]:
    response = render(request, "pages/browse.html", context, block="results")
    current = urlsplit(request.headers.get("hx-current-url", ""))
    shown = current.path + (f"?{current.query}" if current.query else "")
    if is_htmx(request) and request.method == "GET" and shown != context["self_url"]:
        # A new search or page is a history entry; the same view spelled otherwise is only renamed.
        same_view = (
            current.path == "/browse" and filters_from(dict(parse_qsl(current.query)))[0].url() == context["self_url"]
        )
        response.headers["HX-Replace-Url" if same_view else "HX-Push-Url"] = context["self_url"]
    return response


class BrowseController(Controller):
    path = "/browse"
    include_in_schema = False
    opt: ClassVar[dict[str, str]] = {"access": "write"}

    @get("/", opt={"access": "listing"})
    async def browse(
        self,
        request: Request,
        services: Services,
        caller: Caller,
        q: str = "",
        source: str = "",
        status: str = "",
        from_: Annotated[str, Parameter(query="from")] = "",
        to: str = "",
        page: str = "1",
    ) -> Response[Any]:
        params = {"q": q, "source": source, "status": status, "from": from_, "to": to, "page": page}
        return _view(request, await _context(services, params, caller))

    @post("/{transcript_id:str}/reprocess")
    async def reprocess(
        self,
        request: Request,
        services: Services,
        caller: Caller,
        transcript_id: str,
        data: Annotated[ActionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        transcript = await services.transcripts.get(transcript_id)
        notice = ""
        try:
            await services.runs.reprocess(transcript_id)
        except (NoUpload, TranscriptLocked) as refused:
            sentence = str(refused)
            notice = f"“{_name(transcript)}” — {sentence[:1].lower()}{sentence[1:]}"
        if notice:
            return _view(request, {**await _context(services, _params_of(data.next), caller), "notice": notice})
        log.info("browse.reprocess_requested", transcript_id=transcript_id)
        return _back(data.next)

    @post("/{transcript_id:str}/delete")
    async def delete(
        self,
        request: Request,
        services: Services,
        caller: Caller,
        transcript_id: str,
        data: Annotated[ActionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        transcript = await services.transcripts.get(transcript_id)
        if data.confirmed != "yes":
            # Without JavaScript the row's form lands here: ask, on the same page, before deleting.
            context = await _context(services, _params_of(data.next), caller)
            pending = PendingDelete(
                id=transcript.id,
                title=_name(transcript),
                source=SOURCES[transcript.source_kind],
                created_at=transcript.created_at,
            )
            return _view(request, {**context, "confirm": pending})
        await services.transcripts.delete(transcript_id)
        log.info("browse.transcript_deleted", transcript_id=transcript_id)
        return _back(data.next)


def _name(transcript: TranscriptView) -> str:
    return transcript.title or transcript.name or "Untitled meeting"


def _back(next_url: str) -> Redirect:
    filters, _, _ = filters_from(_params_of(next_url))
    return Redirect(filters.url(), status_code=303)
