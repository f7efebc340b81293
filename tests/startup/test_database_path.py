"""A database that cannot work is one line with its fix, never a traceback or SQLite's bare "unable to open
database file": down, a folder that cannot be made, written or searched, a folder named as the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.operator import Bot, assert_quiet, environment
from support.processes import free_port

from bot.simulator import Simulator
from bot.simulator.slack import FakeSlack


async def test_a_database_that_is_down_is_one_line(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    port = free_port()  # nothing listens there: PostgreSQL is down
    url = f"postgresql+asyncpg://bot:db-password-canary@127.0.0.1:{port}/ecs"
    env = environment(tmp_path, sim.url, slack.api_url, BOT_DATABASE_URL=url)
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    assert await bot.wait_exit() == 1
    out = bot.text()
    assert f"cannot start: the database postgresql (127.0.0.1:{port}/ecs) is unavailable" in out, out
    assert "check BOT_DATABASE_URL" in out
    assert "db-password-canary" not in out
    assert_quiet(out)
    assert len([line for line in out.splitlines() if " ERROR " in line]) == 1, out


def test_an_unwritable_database_folder_names_the_folder_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root every folder is writable; the container smoke test (scripts/smoke-image.py) checks a real
    root-owned /data as uid 10001. Here: the sentence, for a folder the process may not write."""
    from bot.database_checks import check_database_folder
    from bot.exit_codes import StartupFailure

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StartupFailure) as info:
        check_database_folder(f"sqlite+aiosqlite:///{tmp_path}/data/bot.sqlite3")  # data/ does not exist yet
    message = str(info.value)
    assert message.startswith(f"cannot write the database folder {tmp_path} (owned by uid "), message
    assert "or point BOT_DATABASE_URL elsewhere" in message
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("where", "says"),
    [
        (
            "{tmp}/afile/bot.sqlite3",
            "cannot make the database folder {tmp}/afile: {tmp}/afile is a file, not a folder",
        ),
        ("{tmp}/adir", "BOT_DATABASE_URL names the folder {tmp}/adir; name a file in it, e.g. "),
        ("/proc/ecs-reset-bot/bot.sqlite3", "cannot make the database folder /proc/ecs-reset-bot ("),
        (
            "/proc/ecs-reset-bot.sqlite3",
            "cannot create the database file /proc/ecs-reset-bot.sqlite3 (/proc is on the proc filesystem, ",
        ),
    ],
    ids=[
        "a-file-as-folder",
        "a-folder-as-file",
        "a-folder-that-cannot-be-made",
        "a-file-that-cannot-be-made",
    ],
)
def test_a_database_path_that_cannot_work_is_one_line_with_the_fix(
    tmp_path: Path, where: str, says: str
) -> None:
    """Each once gave a traceback or SQLite's bare "unable to open database file" (or advice to chown)."""
    from bot.database_checks import check_database_folder
    from bot.exit_codes import StartupFailure

    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    with pytest.raises(StartupFailure) as info:
        check_database_folder(f"sqlite+aiosqlite:///{where.format(tmp=tmp_path)}")
    assert str(info.value).startswith(says.format(tmp=tmp_path)), str(info.value)
    assert "chown" not in str(info.value)


def test_a_read_only_filesystem_is_named_as_such_not_as_a_folder_to_chown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`docker run --read-only` without a volume on /data: root may write nothing there either."""
    from bot.database_checks import check_database_folder
    from bot.exit_codes import StartupFailure

    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, real: os.statvfs_result) -> None:
            self.f_flag = real.f_flag | os.ST_RDONLY

    def statvfs(path: Any) -> Any:
        real = real_statvfs(path)
        return ReadOnly(real) if str(path) == str(tmp_path) else real

    monkeypatch.setattr(os, "statvfs", statvfs)
    with pytest.raises(StartupFailure) as info:
        check_database_folder(f"sqlite+aiosqlite:///{tmp_path}/data/bot.sqlite3", create=False)
    assert str(info.value).startswith(
        f"cannot make the database folder {tmp_path}/data ({tmp_path} is on a read-only filesystem); "
        "mount a writable volume there"
    ), str(info.value)
    assert "chown" not in str(info.value)
    assert not (tmp_path / "data").exists()


def test_a_database_file_this_process_may_not_write_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Doctor once opened it read-only and said OK; `run` then failed writing it."""
    from bot.database_checks import database_path_problem

    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"")
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: str(path) != str(database) and real_access(path, mode)
    )
    problem = database_path_problem(f"sqlite+aiosqlite:///{database}")
    assert problem is not None
    assert problem.startswith(f"cannot write the database file {database} (owned by uid "), problem


def test_a_database_folder_that_may_not_be_searched_is_named_not_a_traceback(tmp_path: Path) -> None:
    """A root-owned 0700 /data seen by uid 10001: stat() of the file inside raises EACCES (the container
    smoke test has the real case; as root here, the folder is made unsearchable by name)."""
    from bot.database_checks import check_database_folder
    from bot.exit_codes import StartupFailure

    folder = tmp_path / "data"
    folder.mkdir()
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path).startswith(f"{folder}/"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    real_access = os.access

    def access(path: Any, mode: int) -> bool:
        return False if str(path) == str(folder) else real_access(path, mode)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "stat", stat)
        patch.setattr(os, "access", access)
        with pytest.raises(StartupFailure) as info:
            check_database_folder(f"sqlite+aiosqlite:///{folder}/ecs-reset-bot.sqlite3")
    assert str(info.value).startswith(f"cannot write the database folder {folder} ("), str(info.value)


@pytest.mark.parametrize(
    "where",
    [
        "/proc/ecs-reset-bot.sqlite3",
        "/proc/ecs-reset-bot/bot.sqlite3",
        "{tmp}/afile/bot.sqlite3",
        "{tmp}/adir",
    ],
    ids=["a-file-in-proc", "a-folder-in-proc", "a-file-as-folder", "a-folder-as-file"],
)
async def test_doctor_refuses_the_database_path_run_refuses_in_the_same_words(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot], where: str
) -> None:
    """One check of the path for both: `doctor` once said OK to a file under /proc that `run` then
    refused (with a traceback). Doctor still makes nothing: it reads what `run` would refuse."""
    sim, slack = outside_world
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    url = f"sqlite+aiosqlite:///{where.format(tmp=tmp_path)}"
    env = environment(tmp_path, sim.url, slack.api_url, BOT_DATABASE_URL=url)
    bots.append(run := Bot(env, tmp_path / "run.log"))
    bots.append(doctor := Bot(env, tmp_path / "doctor.log", "doctor"))
    assert await run.wait_exit() == 1
    assert await doctor.wait_exit() == 1
    assert_quiet(run.text())
    [refused] = [line.split("cannot start: ", 1)[1] for line in run.text().splitlines() if " ERROR " in line]
    assert "BOT_DATABASE_URL" in refused, refused
    [checked] = [
        line for line in doctor.text().splitlines() if line.startswith("database (BOT_DATABASE_URL)")
    ]
    assert checked.split(": FAILED after ", 1)[1].split(" s: ", 1)[1] == refused, doctor.text()


async def test_doctor_makes_no_folder_for_a_database_run_will_create(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    folder = tmp_path / "new" / "deeper"
    env = environment(tmp_path, sim.url, slack.api_url, BOT_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/x.db")
    bots.append(doctor := Bot(env, tmp_path / "doctor.log", "doctor"))
    assert await doctor.wait_exit() == 0, doctor.text()
    assert f"sqlite ({folder}/x.db): not created yet; `run` creates it" in doctor.text()
    assert not (tmp_path / "new").exists()


def test_a_relative_sqlite_path_is_shown_where_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default `./data/...` depends on the folder the bot starts in: doctor and the start-up summary
    name the file itself, so an operator sees when doctor looked elsewhere."""
    from bot.database_checks import database_display

    monkeypatch.chdir(tmp_path)
    assert (
        database_display("sqlite+aiosqlite:///./data/bot.sqlite3") == f"sqlite ({tmp_path}/data/bot.sqlite3)"
    )
    assert database_display("sqlite+aiosqlite://") == "sqlite (in memory)"
    assert database_display("postgresql+asyncpg://bot:pw@db:5433/ecs") == "postgresql (db:5433/ecs)"
