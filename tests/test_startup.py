"""The operator's first hour: `run` and `doctor` against a Slack that hangs, refuses or goes away.

Each bot is a real `python -m bot run` (or `doctor`) subprocess against the fake Slack and the ECS simulator
in this process, or against a port that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from support.processes import die_with_parent, free_port

from bot.demo import DEMO_TARGETS
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import FAKE_APP_TOKEN, FAKE_BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[1]


class SilentServer:
    """Accepts TCP connections, reads what comes, never answers: the hang that must not hang us."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(4096):
                    pass

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()


def environment(tmp_path: Path, sim_url: str, slack_api_url: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BOT_", "DEMO_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
        "SLACK_APP_TOKEN": FAKE_APP_TOKEN,
        "SLACK_API_URL": slack_api_url,
        "BOT_CONFIG": str(DEMO_TARGETS),
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "BOT_HTTP_HOST": "127.0.0.1",
        "BOT_HTTP_PORT": str(free_port()),
        "BOT_SIMULATOR_URL": sim_url,
        "DEMO_ACCESS_KEY": DEMO_ACCESS_KEY,
        "DEMO_SECRET_KEY": DEMO_SECRET_KEY,
        "DEMO_IAM_USER": DEMO_USER.name,
        "DEMO_IAM_PASSWORD": DEMO_USER.password,
        **extra,
    }


class Bot:
    """`python -m bot <command>` with its output in a file the test reads while it runs."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env, self.log = env, log
        self.url = f"http://127.0.0.1:{env.get('BOT_HTTP_PORT', '0')}"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", *(args or ("run",))],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for_log(self, pattern: str, count: int = 1, timeout: float = 60) -> list[str]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.findall(pattern, self.text())
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"{pattern!r} x{count} not logged (exit {self.proc.poll()}):\n{self.text()}")

    async def wait_exit(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running after {timeout} s:\n{self.text()}")
        return self.proc.returncode

    async def health(self, path: str = "/healthz") -> tuple[int, dict[str, object]]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.url + path, timeout=aiohttp.ClientTimeout(total=5)) as response,
        ):
            return response.status, await response.json()

    async def health_becomes(self, status: int, timeout: float = 60) -> dict[str, object]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                got, body = await self.health()
                if got == status:
                    return body
                last = (got, body)
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.2)
        raise AssertionError(f"/healthz never answered {status} (last {last}):\n{self.text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.stop()


def assert_quiet(text: str) -> None:
    """No traceback, no leaked session, no library chatter an operator cannot act on."""
    assert "Traceback" not in text, text
    assert "Unclosed" not in text, text
    assert "setup plugin" not in text, text
    assert "token` will be unused" not in text, text


# -- doctor -----------------------------------------------------------------------------------------------


async def test_doctor_gives_up_on_a_silent_slack_and_cloud_within_its_deadlines(
    tmp_path: Path, bots: list[Bot]
) -> None:
    silent = SilentServer()
    url = await silent.start()
    try:
        env = environment(tmp_path, url, f"{url}/api/")
        started = time.monotonic()
        bots.append(doctor := Bot(env, tmp_path / "doctor.log", "doctor"))
        assert await doctor.wait_exit(60) == 1
        elapsed = time.monotonic() - started
    finally:
        await silent.stop()
    out = doctor.text()
    # Each check keeps its own deadline (the process start is extra, and slow on a loaded machine).
    assert elapsed < 90, f"took {elapsed:.0f} s:\n{out}"
    for limit, taken in re.findall(r"limit (\d+) s\): FAILED after ([\d.]+) s", out):
        assert float(taken) <= float(limit) + 1.0, out
    assert "SLACK_BOT_TOKEN (auth.test) (limit 5 s): FAILED after 5." in out, out
    assert "SLACK_APP_TOKEN (apps.connections.open) (limit 5 s): FAILED" in out, out
    assert "no answer within 5 s (timeout)" in out, out
    assert re.search(r"target demo-aksk \(limit 10 s\): FAILED after 1\d\.\d s: .*timeout", out), out
    for line in out.splitlines():
        if "FAILED" in line:
            assert line.split("FAILED after", 1)[1].split(": ", 1)[1].strip(), line
    # Both tokens, scopes, channels, people, two targets; not the database (a local file).
    assert "4 of 8 check(s) failed, 3 not checked (each needs one that failed)" in out, out
    assert "Task exception was never retrieved" not in out, out
    assert "Traceback" not in out, out


async def test_doctor_names_each_token_slack_refuses(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    env = environment(tmp_path, sim.url, slack.api_url, SLACK_APP_TOKEN="xapp-1-wrong")
    bots.append(doctor := Bot(env, tmp_path / "doctor.log", "doctor"))
    assert await doctor.wait_exit() == 1
    out = doctor.text()
    assert "SLACK_BOT_TOKEN (auth.test) (limit 5 s): OK" in out, out
    assert "Slack refuses SLACK_APP_TOKEN (invalid_auth" in out, out
    assert "connections:write" in out
    assert "xapp-1-wrong" not in out

    closed = f"http://127.0.0.1:{free_port()}/api/"
    bots.append(doctor := Bot({**env, "SLACK_API_URL": closed}, tmp_path / "closed.log", "doctor"))
    assert await doctor.wait_exit() == 1
    assert "connection refused by 127.0.0.1" in doctor.text(), doctor.text()


# -- run: tokens ------------------------------------------------------------------------------------------


HTTP_MODE = {"BOT_MODE": "http", "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": "signing-secret-for-tests"}


@pytest.mark.parametrize(
    ("variable", "wrong", "mode"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-0-wrong", {}),
        ("SLACK_APP_TOKEN", "xapp-0-wrong", {}),
        ("SLACK_BOT_TOKEN", "xoxb-0-wrong", HTTP_MODE),  # HTTP mode checks the bot token before serving too
    ],
    ids=["socket-bot-token", "socket-app-token", "http-bot-token"],
)
async def test_run_stops_with_the_variable_slack_refuses(
    tmp_path: Path,
    outside_world: tuple[Simulator, FakeSlack],
    bots: list[Bot],
    variable: str,
    wrong: str,
    mode: dict[str, str],
) -> None:
    sim, slack = outside_world
    env = environment(tmp_path, sim.url, slack.api_url, **{**mode, variable: wrong})
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    assert await bot.wait_exit() == 3
    out = bot.text()
    assert f"cannot start: Slack refuses {variable} (invalid_auth" in out, out
    # One line, naming the variable that is wrong (not the other token's, not twice).
    assert [line for line in out.splitlines() if " ERROR " in line] == [
        next(line for line in out.splitlines() if "cannot start:" in line)
    ], out
    assert "serving as" not in out
    assert wrong not in out
    assert_quiet(out)
    assert slack.calls("apps.connections.open") == [] or variable == "SLACK_APP_TOKEN"


# -- run: Slack unreachable, signals, health ----------------------------------------------------------------


async def test_run_retries_an_unreachable_slack_one_line_each_and_stops_on_sigterm(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, _ = outside_world
    closed = f"http://127.0.0.1:{free_port()}/api/"
    bots.append(bot := Bot(environment(tmp_path, sim.url, closed), tmp_path / "run.log"))
    lines = await bot.wait_for_log(r"WARNING bot: Slack is unreachable at (\S+) \(([^)]+)\)", count=2)
    assert lines[0] == (f"{closed}auth.test", f"connection refused by 127.0.0.1:{closed.split(':')[2][:-5]}")
    status, body = await bot.health()
    assert status == 503
    assert "Slack is unreachable" in str(body["problems"])
    assert (await bot.health("/livez"))[0] == 200

    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(15) == 0
    assert time.monotonic() - started < 10  # docker stop's default grace
    assert "a signal arrived before start-up finished" in bot.text()
    assert_quiet(bot.text())


async def test_sigint_before_slack_answers_leaves_no_unclosed_session(
    tmp_path: Path, bots: list[Bot]
) -> None:
    silent = SilentServer()
    url = await silent.start()
    try:
        bots.append(bot := Bot(environment(tmp_path, url, f"{url}/api/"), tmp_path / "run.log"))
        await bot.health_becomes(503)
        bot.proc.send_signal(signal.SIGINT)
        assert await bot.wait_exit(15) == 0
    finally:
        await silent.stop()
    assert_quiet(bot.text())


async def test_socket_mode_health_follows_the_connection_and_the_app_token(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    bots.append(bot := Bot(environment(tmp_path, sim.url, slack.api_url), tmp_path / "run.log"))
    await bot.wait_for_log(r"INFO bot: ecs-reset-bot \S+ serving as @ecs-reset-bot in \S+ \(Socket Mode\)")
    assert (await bot.health_becomes(200))["ok"] is True
    summary = bot.text()
    assert "2 target(s): demo-aksk, demo-iam; database sqlite (" in summary
    assert_quiet(summary)
    # A healthy start is one line: no "recovered" from states every start passes, no per-target chatter.
    assert [line for line in summary.splitlines() if line.strip()] == [
        next(line for line in summary.splitlines() if " serving as " in line)
    ], summary

    # Slack goes away: not ready, with the reason; back: ready again.
    port = int(slack.url.rsplit(":", 1)[1])
    await slack.stop()
    body = await bot.health_becomes(503)
    assert "Socket Mode is not connected" in str(body["problems"])
    assert (await bot.health("/livez"))[0] == 200
    await bot.wait_for_log(r"WARNING bot.socket_mode: Socket Mode: lost the connection to Slack \(.+\);")
    assert "ERROR bot.socket_mode" not in bot.text()
    assert "SSLContext object" not in bot.text()

    # ... and comes back refusing the app token (revoked): the reason names the variable.
    slack.app_token = "xapp-rotated"
    await slack.start(port=port)
    await bot.wait_for_log("Slack refuses SLACK_APP_TOKEN")
    body = await bot.health_becomes(503)
    assert "SLACK_APP_TOKEN" in str(body["problems"])

    slack.app_token = FAKE_APP_TOKEN
    await slack.socket_connected(timeout=60)
    assert (await bot.health_becomes(200))["ok"] is True

    bot.proc.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(15) == 0
    out = bot.text()
    assert "Traceback" not in out, out
    assert "Unclosed" not in out, out


async def test_a_port_in_use_is_one_line(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = holder.sockets[0].getsockname()[1]
    try:
        env = environment(tmp_path, sim.url, slack.api_url, BOT_HTTP_PORT=str(port))
        bots.append(bot := Bot(env, tmp_path / "run.log"))
        assert await bot.wait_exit() == 1
    finally:
        holder.close()
    out = bot.text()
    assert f"cannot start: port {port} on 127.0.0.1 is already in use" in out, out
    assert_quiet(out)


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert re.fullmatch(r"ecs-reset-bot \d+\.\d+\.\d+\n", result.stdout)


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
    from bot.serve import StartupFailure, check_database_folder

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StartupFailure) as info:
        check_database_folder(f"sqlite+aiosqlite:///{tmp_path}/data/bot.sqlite3")  # data/ does not exist yet
    message = str(info.value)
    assert message.startswith(f"cannot write the database folder {tmp_path} (owned by uid "), message
    assert "or point BOT_DATABASE_URL elsewhere" in message
    assert info.value.exit_code == 1


async def test_with_a_metrics_port_the_summary_and_the_health_check_name_where_health_is(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """BOT_METRICS_PORT moves /healthz, /livez and /metrics: the one line and the container's check follow."""
    sim, slack = outside_world
    metrics_port = str(free_port())
    env = environment(tmp_path, sim.url, slack.api_url, BOT_METRICS_PORT=metrics_port)
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    [line] = await bot.wait_for_log(r"serving as .*")
    urls = re.findall(r"http://[0-9.]+:\d+/(?:healthz|livez|metrics)", line)
    assert len(urls) == 3, line
    async with aiohttp.ClientSession() as http:
        for url in urls:
            assert f":{metrics_port}/" in url, line
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                assert response.status == 200, (url, await response.text())
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.healthcheck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f":{metrics_port}/healthz: 200" in check.stdout


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
    from bot.serve import StartupFailure, check_database_folder

    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    with pytest.raises(StartupFailure) as info:
        check_database_folder(f"sqlite+aiosqlite:///{where.format(tmp=tmp_path)}")
    assert str(info.value).startswith(says.format(tmp=tmp_path)), str(info.value)
    assert "chown" not in str(info.value)


async def test_a_user_group_slack_does_not_have_is_a_configuration_problem_exit_2(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """Found only once Slack answers, but a configuration problem all the same: exit 2, as README says."""
    sim, slack = outside_world
    targets = tmp_path / "targets.yml"
    original = "approvers: [UDEMOAPPROVER1, UDEMOAPPROVER2]"
    targets.write_text(DEMO_TARGETS.read_text().replace(original, 'approvers: ["@no-such-group"]', 1))
    env = environment(tmp_path, sim.url, slack.api_url, BOT_CONFIG=str(targets))
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    assert await bot.wait_exit() == 2, bot.text()
    assert "no-such-group" in bot.text()
    assert_quiet(bot.text())


async def test_a_start_in_a_workspace_missing_what_the_targets_name_warns_once_each(
    tmp_path: Path, bots: list[Bot]
) -> None:
    """The approvers channel does not exist and the approvers are nobody: still serving (other targets,
    other channels may work; requesters are told), but the operator reads each problem with its fix."""
    sim = Simulator(Fleet.generate(3, seed=1))
    await sim.start()
    slack = FakeSlack()  # an empty workspace
    await slack.start()
    try:
        bots.append(bot := Bot(environment(tmp_path, sim.url, slack.api_url), tmp_path / "run.log"))
        await bot.wait_for_log(r"serving as")
        out = bot.text()
        warnings = [line for line in out.splitlines() if " WARNING bot: workspace: " in line]
        assert len(warnings) == 4, out  # the channel, the two approvers, the break-glass IC
        assert not [line for line in out.splitlines() if " ERROR " in line], "said once, as WARNING"
        assert any("CDEMOAPPROVALS" in w and "/invite @" in w for w in warnings), out
        assert out.index("workspace: ") < out.index("serving as"), "warnings, then the summary"
        bot.proc.send_signal(signal.SIGTERM)
        assert await bot.wait_exit(15) == 0
    finally:
        await slack.stop()
        await sim.stop()


async def test_a_taken_metrics_port_names_that_port_and_its_variable(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    taken = holder.sockets[0].getsockname()[1]
    try:
        env = environment(tmp_path, sim.url, slack.api_url, BOT_METRICS_PORT=str(taken))
        bots.append(bot := Bot(env, tmp_path / "run.log"))
        assert await bot.wait_exit() == 1
    finally:
        holder.close()
    out = bot.text()
    assert f"cannot start: port {taken} on 127.0.0.1 is already in use by another program; stop it or set " \
        "BOT_METRICS_PORT" in out, out
    assert_quiet(out)


def test_a_database_folder_that_may_not_be_searched_is_named_not_a_traceback(tmp_path: Path) -> None:
    """A root-owned 0700 /data seen by uid 10001: stat() of the file inside raises EACCES (the container
    smoke test has the real case; as root here, the folder is made unsearchable by name)."""
    from bot.serve import StartupFailure, check_database_folder

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
