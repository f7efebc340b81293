"""Migrations run in code at start: idempotent, concurrent-safe, and identical to schema.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, text

from bot.domain import Decision, MessageRef, NewRequest, RequestStatus
from bot.store import Store
from bot.store.schema import decisions, metadata, request_servers, requests
from bot.store.store import MIGRATIONS_DIR

StoreFactory = Callable[..., Awaitable[Store]]
HEAD = "0009"


async def _version(store: Store) -> list[str]:
    async with store._engine.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return [r[0] for r in rows]


async def test_migrate_is_idempotent(open_store: StoreFactory) -> None:
    store = await open_store()
    await store.migrate()
    await store.migrate()
    assert await _version(store) == [HEAD]


async def test_replicas_migrating_at_once_both_succeed(open_store: StoreFactory) -> None:
    replicas = [await open_store(migrate=False) for _ in range(3)]
    await asyncio.gather(*(r.migrate() for r in replicas))
    assert await _version(replicas[0]) == [HEAD]
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


def _upgrade_to(conn: Connection, revision: str) -> None:
    """An empty database brought to an older revision, as an earlier version of the bot left it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


async def test_upgrade_from_0001_keeps_every_row(open_store: StoreFactory) -> None:
    """Adding the submission key must not rebuild `requests`: on SQLite a rebuild drops the table,
    which cascades to its servers and decisions."""
    store = await open_store(migrate=False)
    now = datetime.now(UTC)

    def at_0001_with_a_request(conn: Connection) -> int:
        _upgrade_to(conn, "0001")
        request_id: int = conn.execute(
            insert(requests)
            .values(
                target="prod-eu-de",
                requester_id="U_REQ",
                reason="INC-1",
                password_mode="shared",
                reboot="none",
                approvals_required=2,
                status="pending",
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(hours=1),
                message_refs={"card": "C1:1.0"},
            )
            .returning(requests.c.id)
        ).scalar_one()
        conn.execute(
            insert(request_servers).values(
                request_id=request_id, server_id="s-1", name="web-1", locked=False, phase="waiting"
            )
        )
        conn.execute(
            insert(decisions).values(
                request_id=request_id, user_id="U_APP", decision="approve", created_at=now
            )
        )
        return request_id

    async with store._engine.begin() as conn:
        request_id = await conn.run_sync(at_0001_with_a_request)
    await store.migrate()

    assert await _version(store) == [HEAD]
    kept = await store.get_request(request_id)
    assert kept is not None
    assert kept.submission_key is None
    assert kept.break_glass is None, "a request made before break-glass reads as a normal one"
    assert kept.message_refs == {"card": MessageRef("C1", "1.0")}, "a ref written as 'channel:ts' still reads"
    assert [s.server_id for s in await store.servers(request_id)] == ["s-1"]
    assert [(d.user_id, d.decision) for d in await store.decisions(request_id)] == [
        ("U_APP", Decision.APPROVE)
    ]
    new = NewRequest("prod-eu-de", "U_REQ", "INC-2", kept.password_mode, kept.reboot, 1, kept.expires_at)
    assert (await store.create_request_once(new, [])).created


async def test_upgrade_to_0005_makes_approved_rows_unclaimed_executions(open_store: StoreFactory) -> None:
    """A request an older version left `approved` becomes an execution no worker holds, which
    recovery finds at once (the workflow's recovery tests show what it then does)."""
    store = await open_store(migrate=False)
    now = datetime.now(UTC)

    def at_0004_with_an_approved_request(conn: Connection) -> int:
        _upgrade_to(conn, "0004")
        values = dict(
            target="prod-eu-de",
            requester_id="U_REQ",
            reason="INC-1",
            password_mode="shared",
            reboot="none",
            approvals_required=1,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(hours=1),
            message_refs={},
        )
        conn.execute(insert(requests).values(status="pending", **values))
        return int(
            conn.execute(
                insert(requests).values(status="approved", **values).returning(requests.c.id)
            ).scalar_one()
        )

    async with store._engine.begin() as conn:
        approved_id = await conn.run_sync(at_0004_with_an_approved_request)
    await store.migrate()

    moved = await store.get_request(approved_id)
    assert moved is not None
    assert moved.status == RequestStatus.EXECUTING
    assert moved.claimed_by is None
    assert [r.id for r in await store.stale_executions(now + timedelta(seconds=1))] == [approved_id]
    assert [r.status for r in await store.requests_in({RequestStatus.PENDING})] == [RequestStatus.PENDING]
