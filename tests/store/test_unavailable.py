"""A database that is not there fails fast with a clear StoreUnavailable, never a hang or SQL parameters."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.domain import NewRequest
from bot.store import Store, StoreUnavailable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_postgres_on_a_closed_port_fails_fast(make_request: Callable[..., NewRequest]) -> None:
    port = _closed_port()
    store = await Store.open(
        f"postgresql+asyncpg://bot:s3cret-pw@127.0.0.1:{port}/bot",
        secret_keys=[Fernet.generate_key().decode()],
    )
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            await store.ping()
        assert time.monotonic() - started < 5
        message = str(caught.value)
        assert f"127.0.0.1:{port}" in message
        assert "unavailable" in message
        assert "s3cret-pw" not in message
        assert "s3cret-pw" not in repr(store)
        with pytest.raises(StoreUnavailable):
            (await store.create_request_once(make_request(reason="CANARY-REASON"), [])).request
    finally:
        await store.close()


async def test_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    folder = tmp_path / "a-directory.db"
    folder.mkdir()
    store = await Store.open(f"sqlite+aiosqlite:///{folder}", secret_keys=[Fernet.generate_key().decode()])
    try:
        with pytest.raises(StoreUnavailable, match="unable to open database file"):
            await store.ping()
    finally:
        await store.close()


async def test_sqlite_parent_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "bot.db"
    store = await Store.open(f"sqlite:///{path}", secret_keys=[Fernet.generate_key().decode()])
    try:
        await store.migrate()
        await store.ping()
        assert path.exists()
    finally:
        await store.close()


async def test_sql_errors_never_show_parameters(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    """Parameters may hold ciphertext or a reason: the engine hides them from every error."""
    if store._engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths, so this error cannot be provoked there")
    with pytest.raises(Exception) as caught:  # noqa: PT011 - whichever DBAPI error class, the text matters
        (
            await store.create_request_once(make_request(requester_id="U" * 100, reason="CANARY-REASON"), [])
        ).request
    assert "CANARY-REASON" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


async def test_in_memory_sqlite_works_for_quick_tests(make_request: Callable[..., NewRequest]) -> None:
    store = await Store.open("sqlite+aiosqlite://", secret_keys=[Fernet.generate_key().decode()])
    try:
        await store.migrate()
        import asyncio

        made = await asyncio.gather(*(store.create_request_once(make_request(), []) for _ in range(10)))
        assert len({m.request.id for m in made}) == 10
    finally:
        await store.close()
