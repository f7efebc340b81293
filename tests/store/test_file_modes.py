"""The SQLite database holds every request, reason and the audit trail: its folder and files are the
bot's alone (0700 / 0600), whatever the process umask lets other users read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet

from bot.store import Store


def generate_key() -> str:
    return Fernet.generate_key().decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_folder_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "bot"
    path = folder / "bot.sqlite3"
    previous = os.umask(0o022)  # the usual umask: files 0644, folders 0755 unless the bot says otherwise
    try:
        store = await Store.open(f"sqlite+aiosqlite:///{path}", secret_keys=[generate_key()])
        try:
            await store.migrate()
            await store.ping()
        finally:
            await store.close()
    finally:
        os.umask(previous)
    assert mode(folder) == 0o700
    assert mode(path) == 0o600
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            assert mode(side) & 0o077 == 0, f"{side.name} is readable by others"


async def test_an_existing_database_keeps_the_mode_its_operator_chose(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    store = await Store.open(f"sqlite+aiosqlite:///{path}", secret_keys=[generate_key()])
    await store.close()
    assert mode(path) == 0o640
