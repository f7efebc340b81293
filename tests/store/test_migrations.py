"""Migrations run in code at start: idempotent, concurrent-safe, and identical to schema.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from bot.store import Store
from bot.store.schema import metadata

StoreFactory = Callable[..., Awaitable[Store]]


async def _version(store: Store) -> list[str]:
    async with store._engine.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return [r[0] for r in rows]


async def test_migrate_is_idempotent(open_store: StoreFactory) -> None:
    store = await open_store()
    await store.migrate()
    await store.migrate()
    assert await _version(store) == ["0001"]


async def test_replicas_migrating_at_once_both_succeed(open_store: StoreFactory) -> None:
    replicas = [await open_store(migrate=False) for _ in range(3)]
    await asyncio.gather(*(r.migrate() for r in replicas))
    assert await _version(replicas[0]) == ["0001"]
    await replicas[1].ping()


async def test_migrations_match_schema_py(store: Store) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if not _is_alembic_table(d)]

    async with store._engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def _is_alembic_table(change: object) -> bool:
    return (
        isinstance(change, tuple) and len(change) > 1 and getattr(change[1], "name", "") == "alembic_version"
    )
