"""What an operator starts and reads: `python -m bot <command>` with its output in a file, the environment
of a healthy start against the simulators, and a server that accepts connections and never answers.

For the start-up tests (tests/startup/); their `bots` fixture stops every process a test started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.demo import DEMO_TARGETS
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER
from bot.simulator.slack import FAKE_APP_TOKEN, FAKE_BOT_TOKEN
from support.polling import eventually
from support.processes import die_with_parent, free_port

ROOT = Path(__file__).resolve().parents[2]


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
        def missing() -> AssertionError:
            return AssertionError(
                f"{pattern!r} x{count} not logged (exit {self.proc.poll()}):\n{self.text()}"
            )

        def logged() -> list[str]:
            found = re.findall(pattern, self.text())
            if len(found) < count and self.proc.poll() is not None:
                raise missing()  # it will not come now
            return found if len(found) >= count else []

        try:
            return await eventually(logged, timeout, f"{pattern!r} x{count} in the log", interval=0.1)
        except TimeoutError:
            raise missing() from None

    async def wait_exit(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: self.proc.poll() is not None, timeout, "the command to exit")
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
        last: list[object] = [None]

        def never() -> AssertionError:
            return AssertionError(f"/healthz never answered {status} (last {last[0]}):\n{self.text()}")

        async def answered() -> tuple[dict[str, object], ...]:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                got, body = await self.health()
                if got == status:
                    return (body,)
                last[0] = (got, body)
            if self.proc.poll() is not None:
                raise never()  # it will not answer now
            return ()

        try:
            (body,) = await eventually(answered, timeout, f"/healthz {status}", interval=0.2)
        except TimeoutError:
            raise never() from None
        return body

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
