"""The one place tests reach PostgreSQL: the URL, the probe, the skip-or-fail rule, fresh schemas.

Rule: without an answering server the PostgreSQL tests skip with the reason (listed by `-ra` at the
end of the run); under CI=true they fail instead, so CI can never pass without really running them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_probed: list[str | None] = []


def asyncpg_dsn(url: str = PG_URL, database: str | None = None) -> str:
    """The SQLAlchemy URL as a libpq DSN for direct asyncpg connections."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def shown_url() -> str:
    return make_url(PG_URL).render_as_string(hide_password=True)


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None; asked once per test process."""
    if not _probed:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(), timeout=3)
            await conn.close()
            _probed.append(None)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            _probed.append(f"{type(exc).__name__}: {exc}")
    return _probed[0]


async def require_postgres() -> None:
    problem = await postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL at {shown_url()} (BOT_TEST_POSTGRES_URL) does not answer: {problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[str]:
    """A schema of the test's own on the shared database, dropped afterwards."""
    await require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(asyncpg_dsn(), timeout=5)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(asyncpg_dsn(), timeout=5)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@dataclass
class PgDatabase:
    """A database of its own on the shared server, dropped afterwards."""

    name: str
    url: str

    async def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(PG_URL, self.name), timeout=5)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


async def create_pg_database() -> PgDatabase:
    await require_postgres()
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(PG_URL), timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    return PgDatabase(name, url)


async def drop_pg_database(db: PgDatabase) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(PG_URL), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_database() -> AsyncIterator[PgDatabase]:
    db = await create_pg_database()
    try:
        yield db
    finally:
        await drop_pg_database(db)
