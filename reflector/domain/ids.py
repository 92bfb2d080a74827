"""The shape every stored id has, checked before a lookup so that text no row can hold never reaches SQL."""

import re

# Our ids are uuid4 strings, but transcripts imported from Reflector keep theirs, so the shape is loose:
# letters, digits, '-' and '_'. A NUL (which PostgreSQL refuses outright), a path or a 10 kB string is
# not an id, and is answered as a missing row without a query.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def looks_like_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None
