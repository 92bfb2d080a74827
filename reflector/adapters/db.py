"""The process's PostgreSQL engine (piccolo over an asyncpg pool), configured once at start-up."""

from collections.abc import Iterable

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

_engine: PostgresEngine | None = None
CONNECT_TIMEOUT_S = 5


def configure_engine(url: str, tables: Iterable[type[Table]]) -> PostgresEngine:
    """Point `tables` at `url`. Called by the composition root before any query."""
    global _engine
    # A database that does not answer fails a query in seconds (the web's 503), rather than holding it.
    _engine = PostgresEngine(config={"dsn": url, "timeout": CONNECT_TIMEOUT_S})
    for table in tables:
        table._meta._db = _engine
    return _engine


def current_engine() -> PostgresEngine | None:
    return _engine


async def start_pool(engine: PostgresEngine, max_size: int) -> None:
    await engine.start_connection_pool(min_size=1, max_size=max_size, reset=_keep_session)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool beyond asyncpg's own rollback of a transaction left
    open: nothing. Reflector keeps no session state on a pooled connection (no SET, LISTEN, advisory lock or
    cursor outside a transaction), and asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL)
    was a second round trip after every query, a third of a small query's cost."""


async def close_pool(engine: PostgresEngine) -> None:
    await engine.close_connection_pool()
