"""The base of every failure the domain reports to its callers.

Each kind says how it is answered over HTTP (`status`), beside its own definition, so a new failure cannot
be left out of the web layer's table and surface as a 500: the web layer maps `DomainError` once.
"""

from typing import ClassVar


class DomainError(Exception):
    """A failure the caller can act on (a missing row, a refused change, a bad input), as one sentence."""

    status: ClassVar[int] = 400


class NotFound(DomainError):
    status: ClassVar[int] = 404


class Conflict(DomainError):
    status: ClassVar[int] = 409
