"""Full-text search over transcripts: ranked matches with plain-text snippets around the hits.

PostgreSQL finds and ranks (English stemming over title, long summary and words). Snippets are cut
here, in Python, from the page's own texts: PostgreSQL's `ts_headline` parses the whole document on
every call (milliseconds per hour of speech), while a regex pass is microseconds. Stemming stays
exact because PostgreSQL stems the few candidate words, so "budgets" highlights "budget".
"""

import re
from datetime import datetime

import msgspec

from reflector.domain.errors import DomainError
from reflector.domain.transcripts import repository
from reflector.domain.transcripts.access import Listing
from reflector.domain.transcripts.models import SourceKind, Status

SNIPPET_CHARS = 150
SNIPPET_LEFT_CONTEXT = 50
MAX_SNIPPETS = 3
# The summary is the densest text, so its hits come first, but it may not crowd out the words.
MAX_SUMMARY_SNIPPETS = 2


class InvalidSearch(DomainError):
    """A search the client must change, e.g. a date range that ends before it starts."""


class SearchQuery(msgspec.Struct, frozen=True):
    listing: Listing  # whose transcripts may be found (access.listing_for)
    # websearch syntax ("quoted phrase", or, -exclude); empty lists newest first.
    text: str = ""
    limit: int = 20
    offset: int = 0
    room_id: str | None = None
    source_kind: SourceKind | None = None
    status: Status | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class SearchHit(msgspec.Struct, frozen=True):
    id: str
    title: str
    name: str
    user_id: str | None
    room_id: str | None
    source_kind: SourceKind
    created_at: datetime
    status: Status
    rank: float  # 0..1; 0 without a query
    duration: float  # milliseconds, as the transcript
    snippets: list[str]
    match_count: int
    change_seq: int


class SearchPage(msgspec.Struct, frozen=True):
    hits: list[SearchHit]
    total: int
    # The lower-cased words of this page's titles and snippets that matched, for highlighting them.
    matched_words: frozenset[str] = frozenset()


async def search_transcripts(query: SearchQuery) -> SearchPage:
    """One page of matches, best first (newest first without a query), and how many match in all."""
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise InvalidSearch("'from' must not be after 'to'")
    terms = query.text.strip()
    filters = repository.SearchFilters(
        listing=query.listing,
        room_id=query.room_id,
        source_kind=query.source_kind,
        status=query.status,
        created_from=query.created_from,
        created_to=query.created_to,
    )
    rows, total, lexemes = await repository.search_page(terms, filters, offset=query.offset, limit=query.limit)
    matching = await _matching_words(set(lexemes), rows) if terms and rows else set()
    hits = []
    pattern = _any_of(matching)
    for row in rows:
        summary_hits = _hits(row.long_summary, matching, pattern)
        text_hits = _hits(row.text, matching, pattern)
        snippets = _snippets(row.long_summary, summary_hits, MAX_SUMMARY_SNIPPETS)
        snippets += _snippets(row.text, text_hits, MAX_SNIPPETS - len(snippets))
        hits.append(
            SearchHit(
                id=row.id,
                title=row.title,
                name=row.name,
                user_id=row.user_id,
                room_id=row.room_id,
                source_kind=row.source_kind,
                created_at=row.created_at,
                status=row.status,
                rank=row.rank,
                duration=row.duration,
                snippets=snippets,
                match_count=len(summary_hits) + len(text_hits),
                change_seq=row.change_seq,
            )
        )
    return SearchPage(hits=hits, total=total, matched_words=frozenset(matching))


async def _matching_words(lexemes: set[str], rows: list[repository.SearchRow]) -> set[str]:
    """The lower-cased words of these texts that stem to one of the query's lexemes."""
    if not lexemes:
        return set()
    # English Snowball stems keep all but at most the last letter of a word (budgets→budget,
    # hiring→hire, happy→happi), so only words sharing that prefix are worth stemming; the few
    # irregular forms (dying→die) go unhighlighted but still match in PostgreSQL. One regex over the
    # texts finds them: splitting every text into words cost more than the rest of a search.
    prefixes = sorted({lexeme[:-1] if len(lexeme) > 2 else lexeme for lexeme in lexemes}, key=len, reverse=True)
    starting = re.compile(r"\b(?:" + "|".join(map(re.escape, prefixes)) + r")\w*", re.IGNORECASE)
    candidates = {
        m.group().lower()
        for row in rows
        for text in (row.title, row.long_summary, row.text)
        for m in starting.finditer(text)
    }
    stems = await repository.stems_of(sorted(candidates))
    return {word for word, word_lexemes in stems.items() if lexemes.intersection(word_lexemes)}


def _any_of(words: set[str]) -> re.Pattern[str] | None:
    """A regex finding any of these lower-cased words as a whole word, in any case."""
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b", re.IGNORECASE)


def _hits(text: str, matching: set[str], pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text) if m.group().lower() in matching]


def _snippets(text: str, hits: list[tuple[int, int]], most: int) -> list[str]:
    """Up to `most` windows of about SNIPPET_CHARS around hits, none overlapping, cut at word edges."""
    snippets: list[str] = []
    covered_to = 0
    for hit_start, hit_end in hits:
        if len(snippets) >= most:
            break
        if hit_start < covered_to:
            continue
        start = max(0, hit_start - SNIPPET_LEFT_CONTEXT)
        if start > 0 and not text[start - 1].isspace():
            space = text.find(" ", start, hit_start)
            start = hit_start if space < 0 else space + 1
        end = min(len(text), start + SNIPPET_CHARS)
        if end < len(text) and not text[end].isspace():
            space = text.rfind(" ", hit_end, end)
            end = space if space >= 0 else max(end, hit_end)
        body = " ".join(text[start:end].split())
        snippets.append(("..." if start > 0 else "") + body + ("..." if end < len(text) else ""))
        covered_to = end
    return snippets
