"""The one JSON encoding for everything the product stores or sends: events, checkpoints, cached state.

Model libraries hand back numpy scalars and arrays where the code expects plain numbers (a
diarizer's progress fraction, a segment's times); msgspec refuses them, and which value reaches an
encoder first can depend on which step finished first. Here they become plain numbers, wherever
they hide in a payload.
"""

from typing import Any

import msgspec


def _plain(value: Any) -> Any:
    # numpy is told by its module, so that encoding never imports it.
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    raise NotImplementedError(f"cannot encode objects of type {type(value).__name__}")


def encode(value: Any) -> bytes:
    """JSON bytes of a Struct, dict, list or number, numpy values included."""
    return msgspec.json.encode(value, enc_hook=_plain)


def to_builtins(value: Any) -> Any:
    """Plain dicts, lists, strings and numbers, numpy values included (for JSONB columns)."""
    return msgspec.to_builtins(value, enc_hook=_plain)
