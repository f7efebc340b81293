"""A bot subprocess (`python -m bot run`) and a free port for it: what the end-to-end tests and the
benchmarks both start (no pytest here, so bench/ imports it too)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from support.polling import eventually

PYTHON = sys.executable


def die_with_parent() -> None:
    """For `preexec_fn`: on Linux the child gets SIGTERM when the test process dies, even by SIGKILL (a
    pytest timeout, a killed CI job), so no `python -m bot run` outlives the run that started it."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """One `python -m bot run` subprocess; its stdout and stderr go to `log_path`."""

    def __init__(self, env: Mapping[str, str], log_path: Path, cwd: Path) -> None:
        self.env = dict(env)
        self.port = int(self.env["BOT_HTTP_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.url}/slack/events"
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220
                [PYTHON, "-m", "bot", "run"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        proc = self.proc
        async with aiohttp.ClientSession() as http:

            async def serving() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"the bot exited with {proc.returncode} before serving:\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        return r.status == 200
                return False

            try:
                await eventually(serving, timeout, "/healthz to answer 200", interval=0.1)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}:\n{self.log_tail()}") from None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM (graceful: finishes work in flight), SIGKILL if it takes too long."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        proc = self.proc
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: proc.poll() is not None, timeout, "the bot to stop after SIGTERM")
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        return proc.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
