"""Text that PostgreSQL cannot hold, refused where a request comes in rather than failing the query.

PostgreSQL's text types take any character but NUL (U+0000), so a NUL reaching a query fails it: our
500 for a caller's typo or probe. `refuse_unstorable_text` runs before any handler, HTTP and WebSocket
alike (from `authenticate`), and looks at everything a request hands the handlers as text: the path,
the query string and a JSON or form body. A path with a NUL, or with a part longer than any file name or
id, names nothing (404); anywhere else a NUL is invalid input (422 on the API, 400 on a page).

Multipart bodies are left alone: they carry recordings, and their few text fields are the page's to
check. Lone UTF-16 surrogates, which asyncpg cannot encode either, never get this far: the JSON decoder
refuses them and percent-decoding replaces them.
"""

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.params import BodyKwarg

# Only a body holding one of these can decode to a NUL; the rest are never decoded twice.
_JSON_NUL = b"\\u0000"
_FORM_NUL = re.compile(rb"%00|\x00")
# No file name (the file system's NAME_MAX) nor id is longer: a longer part would only fail their lookups.
_LONGEST_PATH_PART = 255
# Short: a WebSocket's close reason, which carries it, holds at most 123 bytes.
_ADVICE = "holds a NUL character (%00), which Reflector can't store: remove it"


def unstorable(text: str) -> bool:
    """Whether PostgreSQL would refuse this text."""
    return "\x00" in text


async def refuse_unstorable_text(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    path = connection.scope["path"]
    if unstorable(path) or any(len(part.encode()) > _LONGEST_PATH_PART for part in path.split("/")):
        raise NotFoundException("Nothing is found at this address")
    for name, value in connection.query_params.multi_items():
        if unstorable(name) or unstorable(value):
            plain = name.isascii() and len(name) <= 20 and not unstorable(name)
            shown = f"The query parameter '{name}'" if plain else "A query parameter"
            raise _invalid("query", name, f"{shown} {_ADVICE}")
    if not isinstance(connection, Request):
        return
    encoding = _body_encoding(handler)
    if encoding == RequestEncodingType.JSON:
        body = await connection.body()
        if _JSON_NUL in body and _json_holds_unstorable(body):
            raise _invalid("body", "", f"The request body {_ADVICE}")
    elif encoding == RequestEncodingType.URL_ENCODED:
        body = await connection.body()
        if _FORM_NUL.search(body) and any(
            unstorable(name) or unstorable(value)
            for name, value in parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
        ):
            raise _invalid("body", "", f"The form {_ADVICE}")


def _invalid(source: str, key: str, sentence: str) -> ValidationException:
    return ValidationException(sentence, extra=[{"source": source, "key": key, "message": sentence}])


def _body_encoding(handler: BaseRouteHandler) -> str | None:
    """How the handler reads its body (JSON unless it declares otherwise); None when it takes none."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    kwarg = field.kwarg_definition
    return kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON


def _json_holds_unstorable(body: bytes) -> bool:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False  # not JSON at all: the handler answers that itself
    # A loop, not recursion: a deeply nested document must not exhaust the stack.
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if unstorable(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
