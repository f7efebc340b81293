"""The database BOT_DATABASE_URL names, as `run` and `doctor` check it before opening it.

Where it is in one phrase with no secret (`database_display`), why it cannot be used as one sentence with
its fix (`database_unavailable`), and whether a SQLite file's folder can be made and written
(`check_database_folder`), since SQLite itself says only "unable to open database file".
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.exit_codes import StartupFailure

__all__ = [
    "check_database_folder",
    "database_display",
    "database_unavailable",
    "sqlite_file",
    "unwritable_folder",
]


def database_display(url: str) -> str:
    """`sqlite (/data/x.sqlite3)` or `postgresql (db.internal:5432/ecs)`: the kind and place, no secrets."""
    parsed = make_url(url)
    kind = parsed.get_backend_name()
    if kind == "sqlite":
        return f"sqlite ({parsed.database or 'in memory'})"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return f"{kind} ({where})"


def database_unavailable(url: str, exc: BaseException) -> str:
    """One sentence for `run` and `doctor`: which database (kind and place, no secret), why, what to check."""
    where = database_display(url)
    cause = str(exc).partition(" is unavailable: ")[2] or str(exc) or type(exc).__name__
    check = "the file is readable and writable" if where.startswith("sqlite") else "the server is up"
    return f"the database {where} is unavailable ({cause}); check BOT_DATABASE_URL and that {check}"


def sqlite_file(url: str) -> Path | None:
    """The SQLite database file BOT_DATABASE_URL names, resolved; None for PostgreSQL or memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve()


def unwritable_folder(folder: Path) -> str:
    """One line for a folder this process may not write: its owner, our uid, and the ways out."""
    try:
        owner = f"owned by uid {folder.stat().st_uid}, "
    except OSError:
        owner = ""
    return (
        f"cannot write the database folder {folder} ({owner}this process runs as uid {os.getuid()}); "
        f"make it writable for uid {os.getuid()} (a container volume, or `chown {os.getuid()}` on the host "
        "folder), or point BOT_DATABASE_URL elsewhere"
    )


def check_database_folder(url: str, *, create: bool = True) -> None:
    """A SQLite file's folder exists or can be made, and can be written; else StartupFailure, one line
    naming the fix, before anything starts (SQLite itself says only "unable to open database file").
    `create=False` (doctor) checks without making the folder."""
    database = sqlite_file(url)
    if database is None:
        return
    # os.path's tests, not Path's: they answer False where the folder may not be searched (a root-owned
    # /data in a container), which the access check below then names; Path.is_dir() raises there.
    if os.path.isdir(database):
        raise StartupFailure(
            f"BOT_DATABASE_URL names the folder {database}; name a file in it, e.g. "
            f"sqlite+aiosqlite:///{database / 'ecs-reset-bot.sqlite3'}"
        )
    folder = existing = database.parent
    while not os.path.exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(existing):
        raise StartupFailure(
            f"cannot make the database folder {folder}: {existing} is a file, not a folder; "
            "point BOT_DATABASE_URL at a file in a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StartupFailure(unwritable_folder(existing))
    if not create:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only, as the store makes it
    except OSError as exc:
        raise StartupFailure(
            f"cannot make the database folder {folder} ({exc.strerror or exc}); "
            "point BOT_DATABASE_URL at a file in a writable folder"
        ) from None
