"""The database BOT_DATABASE_URL names, as `run` and `doctor` check it before opening it.

Where it is in one phrase with no secret (`database_display`), why it cannot be used as one sentence with
its fix (`database_unavailable`), and whether a SQLite file's folder can be made and written
(`check_database_folder`), since SQLite itself says only "unable to open database file".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.exit_codes import StartupFailure

__all__ = [
    "check_database_folder",
    "database_display",
    "database_path_problem",
    "database_unavailable",
    "filesystem_type",
    "sqlite_file",
    "unwritable_folder",
]


def database_display(url: str) -> str:
    """`sqlite (/data/x.sqlite3)` or `postgresql (db.internal:5432/ecs)`: the kind and place, no secrets.
    A SQLite path is shown absolute: the default (`./data/...`) depends on the folder `run` starts in,
    so `doctor` started elsewhere would look at another file; the line says which."""
    parsed = make_url(url)
    kind = parsed.get_backend_name()
    if kind == "sqlite":
        return f"sqlite ({sqlite_file(url) or 'in memory'})"
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


def unwritable_folder(folder: Path, what: str = "folder") -> str:
    """One line for a folder (or, with `what="file"`, the file) this process may not write: its owner,
    our uid, and the ways out."""
    try:
        owner = f"owned by uid {folder.stat().st_uid}, "
    except OSError:
        owner = ""
    return (
        f"cannot write the database {what} {folder} ({owner}this process runs as uid {os.getuid()}); "
        f"make it writable for uid {os.getuid()} (a container volume, or `chown {os.getuid()}` on the host "
        f"{what}), or point BOT_DATABASE_URL elsewhere"
    )


_HOLDS_NO_FILES = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "efivarfs",
        "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "securityfs", "selinuxfs", "sysfs",
        "tracefs",
    }
)  # fmt: skip
"""Linux's pseudo filesystems: writable to root by every permission test, yet no SQLite file can live
there (creating one in /proc fails with "No such file or directory")."""

_WHERE_INSTEAD = "point BOT_DATABASE_URL at a file in a writable folder"


def _unescape(field: str) -> str:
    """A mount point as /proc/self/mountinfo writes it (a blank is `\\040`), as the path it is."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def filesystem_type(path: Path) -> str | None:
    """The type (`ext4`, `proc`, `tmpfs`...) of the filesystem mounted where `path` lives, from
    /proc/self/mountinfo; None where that cannot be read (not Linux). `path` should be absolute and
    resolved; it need not exist."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return None
    found: tuple[int, str] | None = None
    text = str(path)
    for line in lines:
        fields = line.split(" ")
        if "-" not in fields[6:] or len(fields) < 5:
            continue
        point = _unescape(fields[4])
        inside = text == point or text.startswith(point.rstrip("/") + "/")
        if inside and (found is None or len(point) >= found[0]):  # the deepest; a later mount covers
            found = (len(point), fields[fields.index("-", 6) + 1])
    return None if found is None else found[1]


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def database_path_problem(url: str) -> str | None:
    """Why `run` could not create or write the SQLite file BOT_DATABASE_URL names, as one sentence with
    its fix; None when it can (or for PostgreSQL). Reads only: `doctor` asks it as it is, `run` asks it
    through `check_database_folder` before making the folder, so the two always say the same."""
    database = sqlite_file(url)
    if database is None:
        return None
    # os.path's tests, not Path's: they answer False where the folder may not be searched (a root-owned
    # /data in a container), which the access check below then names; Path.is_dir() raises there.
    if os.path.isdir(database):
        return (
            f"BOT_DATABASE_URL names the folder {database}; name a file in it, e.g. "
            f"sqlite+aiosqlite:///{database / 'ecs-reset-bot.sqlite3'}"
        )
    folder = existing = database.parent
    while not os.path.exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(existing):
        return (
            f"cannot make the database folder {folder}: {existing} is a file, not a folder; "
            "point BOT_DATABASE_URL at a file in a folder"
        )
    exists = os.path.exists(database)
    cannot = (
        f"cannot make the database folder {folder}"
        if existing != folder
        else f"cannot {'write' if exists else 'create'} the database file {database}"
    )
    kind = filesystem_type(existing)
    if kind in _HOLDS_NO_FILES:
        return f"{cannot} ({existing} is on the {kind} filesystem, which holds no files); {_WHERE_INSTEAD}"
    if _read_only(existing):
        return (
            f"{cannot} ({existing} is on a read-only filesystem); mount a writable volume there (in a "
            f"container, a named volume on /data) or {_WHERE_INSTEAD}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        return unwritable_folder(existing)
    if exists and not os.access(database, os.R_OK | os.W_OK):
        return unwritable_folder(database, "file")
    return None


def check_database_folder(url: str, *, create: bool = True) -> None:
    """A SQLite file's folder exists or can be made, and can be written; else StartupFailure, one line
    naming the fix, before anything starts (SQLite itself says only "unable to open database file").
    The checks are `database_path_problem`'s, which `doctor` shares; `create=False` makes nothing."""
    problem = database_path_problem(url)
    if problem is not None:
        raise StartupFailure(problem)
    database = sqlite_file(url)
    if database is None or not create:
        return
    try:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only, as the store makes it
    except OSError as exc:
        raise StartupFailure(
            f"cannot make the database folder {database.parent} ({exc.strerror or exc}); {_WHERE_INSTEAD}"
        ) from None
