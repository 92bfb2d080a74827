"""Ids and the clock, shared by every module of the domain: how a row's id is made, the shape every stored
id has (checked before a lookup so that text no row can hold never reaches SQL), and the time rows record."""

import re
import uuid
from datetime import UTC, datetime

# Our ids are uuid4 strings, but transcripts imported from Reflector keep theirs, so the shape is loose:
# letters, digits, '-' and '_'. A NUL (which PostgreSQL refuses outright), a path or a 10 kB string is
# not an id, and is answered as a missing row without a query.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def looks_like_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)
