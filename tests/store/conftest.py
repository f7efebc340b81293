"""Store fixtures: every store test runs on a SQLite file and on PostgreSQL (in a schema of its own)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from support.pg import PG_URL, asyncpg_dsn, fresh_schema

from bot.domain import NewRequest, NewServer, PasswordMode, RebootMode, RequestStatus
from bot.store import Store


@dataclass
class Database:
    """Where a test's store lives: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""

    backend: str
    url: str
    schema: str | None = None
    path: Path | None = None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "state" / "bot.db"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", path=path)
        return
    async with fresh_schema("t") as schema:
        yield Database("postgres", PG_URL, schema=schema)


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


StoreFactory = Callable[..., Awaitable[Store]]


@pytest.fixture
async def open_store(database: Database, secret_key: str) -> AsyncIterator[StoreFactory]:
    """Opens extra stores on the same database (a second replica); all are closed at the end."""
    opened: list[Store] = []

    async def factory(*, secret_keys: list[str] | None = None, migrate: bool = True) -> Store:
        store = await Store.open(
            database.url, secret_keys=secret_keys or [secret_key], schema=database.schema
        )
        opened.append(store)
        if migrate:
            await store.migrate()
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: StoreFactory) -> Store:
    return await open_store()


@pytest.fixture
def make_request() -> Callable[..., NewRequest]:
    """Builds a NewRequest; a fixture rather than an import so the test tree needs no package layout."""
    return new_request


@pytest.fixture
def make_servers() -> Callable[[int], list[NewServer]]:
    return servers


def new_request(
    *,
    requester_id: str = "U_REQ",
    target: str = "prod-eu-de",
    expires_in: timedelta = timedelta(hours=1),
    **overrides: object,
) -> NewRequest:
    values: dict[str, object] = {
        "target": target,
        "requester_id": requester_id,
        "reason": "INC-42 locked out of the database hosts",
        "password_mode": PasswordMode.SHARED,
        "reboot": RebootMode.SOFT,
        "approvals_required": 2,
        "expires_at": datetime.now(UTC) + expires_in,
    }
    values.update(overrides)
    return NewRequest(**values)  # type: ignore[arg-type]


def servers(count: int = 2) -> list[NewServer]:
    return [
        NewServer(
            server_id=f"{i:08d}-0000-4000-8000-000000000000",
            name=f"web-{i:05d}",
            os_type="Linux",
            cloud_status="ACTIVE",
            plugin_installed=True,
        )
        for i in range(count)
    ]


async def _pg_dump(schema: str | None) -> bytes:
    """The real pg_dump of the test schema when the client is installed (its version may not match)."""
    if schema is None or shutil.which("pg_dump") is None:
        return b""
    url = make_url(PG_URL)
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--schema", schema]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    proc = await asyncio.create_subprocess_exec(
        "pg_dump", *args, url.database or "postgres", stdout=asyncio.subprocess.PIPE, env=env
    )
    out, _ = await proc.communicate()
    return out if proc.returncode == 0 else b""


@pytest.fixture
def dump_database(database: Database) -> Callable[[], Awaitable[bytes]]:
    """Everything the database holds on disk (SQLite files) or as text (every column of every table)."""

    async def dump() -> bytes:
        if database.path is not None:
            chunks = []
            for suffix in ("", "-wal", "-shm", "-journal"):
                candidate = database.path.with_name(database.path.name + suffix)
                if candidate.exists():
                    chunks.append(candidate.read_bytes())
            return b"\n".join(chunks)
        conn = await asyncpg.connect(asyncpg_dsn(PG_URL), timeout=5)
        try:
            columns = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1",
                database.schema,
            )
            lines: list[str] = []
            for col in columns:
                rows = await conn.fetch(
                    f'SELECT "{col["column_name"]}"::text AS v FROM "{database.schema}"."{col["table_name"]}"'
                )
                lines.extend(f"{col['table_name']}.{col['column_name']}={r['v']}" for r in rows)
        finally:
            await conn.close()
        return "\n".join(lines).encode() + b"\n" + await _pg_dump(database.schema)

    return dump


async def finish(store: Store, request_id: int, reveal_until: datetime | None) -> str | None:
    """Ends a request's execution the way the executor does (claim, then finish as succeeded): with
    `reveal_until`, its sealed secret is armed for the reveal until then and the token is returned;
    None erases the secret."""
    claimed = await store.transition(
        request_id, {RequestStatus.PREFLIGHT, RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by="W1"
    )
    assert claimed is not None
    done = await store.finish_execution(
        request_id,
        RequestStatus.SUCCEEDED,
        "done",
        audit=("bot", "succeeded", None),
        reveal_until=reveal_until,
    )
    assert done is not None
    return done.reveal_token
