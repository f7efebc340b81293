"""The store's engine and transactions: URLs, SQLite's settings, migrations, and `StoreUnavailable` for
connection trouble."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from asyncpg.exceptions import PostgresConnectionError as _PgConnectionError  # type: ignore[import-untyped]
from sqlalchemy import Connection, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.clock import SYSTEM_CLOCK, Clock
from bot.domain import RequestRecord
from bot.store.errors import StoreUnavailable
from bot.store.rows import request_record
from bot.store.sealing import Sealer

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number works: it only has to be the same on every replica (crc32 of a schema for isolation).
_MIGRATION_LOCK_KEY = 0x45435352  # "ECSR"
_SQLITE_BUSY_TIMEOUT_MS = 15_000

_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError, _PgConnectionError)


def normalise_url(url: str) -> URL:
    """Accept the URLs operators write (sqlite:///…, postgres://…) and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    return parsed


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_parent_folder(database: str) -> None:
    """The database's folder (0700) and file (0600) created owner-only when they do not exist yet:
    requests, reasons and the audit trail are for the bot alone. SQLite gives its -wal and -shm
    files the mode of the database file. Existing folders and files are left as the operator set them."""
    path = Path(database).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def schema_revisions(connection: Connection) -> SchemaRevisions:
    """Where the database's schema stands against the migrations this code carries; reads only."""
    scripts = ScriptDirectory.from_config(_alembic_config())
    current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in scripts.walk_revisions()}
    return SchemaRevisions(current=current, head=scripts.get_current_head(), known=current in known)


class SchemaRevisions(NamedTuple):
    current: str | None
    """The database's Alembic revision; None for a database the bot has not set up yet."""
    head: str | None
    """The newest revision this code carries (what `migrate` brings the database to)."""
    known: bool
    """False when `current` is none of this code's revisions: a newer bot migrated the database."""


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_to_head(connection: Connection) -> None:
    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def use_wal(cursor: Any) -> None:
    """WAL is kept in the file: the first connection to a new database switches it for all later ones.
    Connections opening the file at the same moment (replicas starting together) can be told "database
    is locked" at once, without the busy timeout, while another one switches it or recovers its log;
    such a connection goes on, and finds the file in WAL at its next transaction."""
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        log.info("another connection holds the database while this one opens; WAL is left to it")


def configure_sqlite(engine: AsyncEngine) -> None:
    """WAL and a busy timeout so writers in one process queue up; we issue BEGIN ourselves (see below)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver's own implicit BEGIN so ours (possibly IMMEDIATE) is the one that counts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            if not is_memory(engine.url):
                use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


async def open_engine(
    url: str, *, echo: bool = False, schema: str | None = None, connect_timeout: float = 5.0
) -> AsyncEngine:
    """Build the engine without connecting; `schema` (PostgreSQL only) puts every table in that schema.
    Raises ValueError for a database other than SQLite or PostgreSQL, or `schema` on SQLite."""
    parsed = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError("schema= is only supported on PostgreSQL")
        if is_memory(parsed):
            kwargs["poolclass"] = StaticPool
        else:
            assert parsed.database is not None
            await asyncio.to_thread(make_parent_folder, parsed.database)
        # A local file cannot drop a connection, so no pre-ping; and every use of a connection is one
        # `begin()` block that commits or rolls back, so no reset on return. Each of those was one
        # more hop through aiosqlite's worker thread on every transaction (~1.5 ms of ~3 ms here).
        kwargs["pool_reset_on_return"] = None
        kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        server_settings = {"application_name": "ecs-reset-bot"}
        if schema is not None:
            server_settings["search_path"] = schema
        kwargs.update(
            pool_pre_ping=True,
            pool_timeout=max(connect_timeout * 2, 10.0),
            connect_args={
                "timeout": connect_timeout,
                "command_timeout": 60,
                "server_settings": server_settings,
            },
        )
    engine = create_async_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    return engine


class Database:
    """One engine and its transactions: what every part of the store runs its statements through."""

    def __init__(
        self,
        engine: AsyncEngine,
        sealer: Sealer,
        *,
        schema_name: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._sealer = sealer
        self._schema_name = schema_name
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._display_url = engine.url.render_as_string(hide_password=True)
        # An in-memory SQLite database is one shared connection: take turns on it.
        self._memory_lock = asyncio.Lock() if is_memory(engine.url) else None
        # SQLite has one writer; a second BEGIN IMMEDIATE waits in SQLite's busy handler, which sleeps in
        # steps of up to 100 ms. Writers of this process queue here instead and start as soon as the lock is
        # free (p99 of a contended click 100-250 ms -> see BENCHMARKS.md; kept by bench/ack_latency.py's
        # Approve clicks). Other processes still meet the busy timeout.
        self._sqlite_writers = asyncio.Lock() if self._is_sqlite and self._memory_lock is None else None

    def __repr__(self) -> str:
        return f"Store({self._display_url!r})"

    async def close(self) -> None:
        """Closes every pooled connection; the store is not used afterwards. Raises no `StoreError`."""
        await self._engine.dispose()

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query."""
        async with self._begin() as conn:
            await conn.execute(select(1))

    async def schema_revisions(self) -> SchemaRevisions:
        """The schema's revision against this code's newest; reads only. Raises StoreUnavailable."""
        async with self._begin() as conn:
            return await conn.run_sync(schema_revisions)

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; safe to run on every start and on replicas at once.
        Raises `StoreUnavailable` when the database does not answer."""
        async with self._begin(write=True) as conn:
            if conn.dialect.name == "postgresql":
                key = _MIGRATION_LOCK_KEY
                if self._schema_name is not None:
                    key = zlib.crc32(self._schema_name.encode("utf-8"))
                # Held until commit: a second replica waits, then finds the schema already at head.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            await conn.run_sync(upgrade_to_head)
        # DEBUG: the start-up summary already names the database; one INFO line per start is the contract.
        log.debug("database schema is up to date", extra={"database": self._display_url})

    @asynccontextmanager
    async def _begin(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction; connection trouble becomes StoreUnavailable without SQL or parameters."""
        try:
            if self._memory_lock is not None:
                async with self._memory_lock, self._transaction(write) as conn:
                    yield conn
            elif write and self._sqlite_writers is not None:
                async with self._sqlite_writers, self._transaction(write) as conn:
                    yield conn
            else:
                async with self._transaction(write) as conn:
                    yield conn
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self._describe(exc)) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(self._describe(exc)) from exc
            raise

    @asynccontextmanager
    async def _transaction(self, write: bool) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if write and self._is_sqlite:
                # Take SQLite's write lock up front so read-then-write transactions wait instead of failing.
                conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with conn.begin():
                yield conn

    def _describe(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        kind = type(orig).__name__
        return f"database {self._display_url} is unavailable: {kind}" + (f": {reason}" if reason else "")

    async def _requests(self, query: Any) -> list[RequestRecord]:
        async with self._begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [request_record(row) for row in rows]
