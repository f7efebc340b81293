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
    ],
    ids=["a-file-as-folder", "a-folder-as-file", "a-folder-that-cannot-be-made"],
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
