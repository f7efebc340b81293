"""Writes under a burst: audit rows share transactions; SQLite writers queue in the process, not in SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event

import bot.store.engine as store_module
from bot.domain import Decision, MessageRef, NewRequest, RequestStatus
from bot.store import Store


async def test_a_burst_of_audit_rows_shares_transactions_and_loses_none(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    commits: list[int] = []
    engine = store._engine.sync_engine
    listener = lambda _conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        refusal = {"why": "own request"}
        await asyncio.gather(
            *(store.add_audit(req.id, f"U{i:03d}", "decision_refused", refusal) for i in range(60))
        )
    finally:
        event.remove(engine, "commit", listener)
    trail = await store.audit(req.id)
    assert sorted(e.actor for e in trail) == [f"U{i:03d}" for i in range(60)]
    assert all(e.detail == {"why": "own request"} for e in trail)
    assert 1 <= len(commits) < 60


async def test_sqlite_writers_of_one_process_never_meet_the_busy_handler(
    tmp_path: Path,
    secret_key: str,
    make_request: Callable[..., NewRequest],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no busy timeout at all, concurrent writers would fail with 'database is locked' at once
    (SQLite only: PostgreSQL has row locks and many writers)."""
    monkeypatch.setattr(store_module, "_SQLITE_BUSY_TIMEOUT_MS", 0)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", secret_keys=[secret_key])
    try:
        await store.migrate()
        requests = [
            (await store.create_request_once(make_request(status=RequestStatus.PENDING), [])).request
            for _ in range(5)
        ]

        async def work(i: int) -> None:
            req = requests[i % 5]
            assert await store.add_decision(req.id, f"U{i:03d}", Decision.APPROVE, None)
            await store.set_message_refs(req.id, {f"ref{i}": MessageRef("C1", f"{i}.0")})

        await asyncio.gather(*(work(i) for i in range(40)))
        for req in requests:
            assert len(await store.decisions(req.id)) == 8
    finally:
        await store.close()


def test_a_connection_that_meets_a_locked_file_while_opening_goes_on(tmp_path: Path) -> None:
    """Replicas opening a new SQLite file at once: the one told 'locked' must not fail to connect."""
    path = tmp_path / "bot.db"
    holder = sqlite3.connect(path, isolation_level=None)
    opener = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        cursor = opener.cursor()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            cursor.execute("PRAGMA journal_mode=WAL")  # what SQLite answers: no waiting
        store_module.use_wal(cursor)  # goes on
        holder.execute("COMMIT")
        store_module.use_wal(cursor)
        assert opener.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        opener.close()
        with pytest.raises(sqlite3.ProgrammingError):
            store_module.use_wal(cursor)  # anything but a lock still fails
    finally:
        holder.close()
        opener.close()
