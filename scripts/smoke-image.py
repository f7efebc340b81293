"""Smoke test of the built image, run by .ci/run after scripts/build-image.sh (podman, host network).

The fake Slack and the ECS simulator run in this process on 127.0.0.1; the image runs the bot in HTTP mode
against them (no BOT_MODE set: the image must not choose one) and is checked as an operator would: it
starts, runs as a non-root user, its health check answers (asking BOT_HTTP_HOST, here 127.0.0.1 only),
it serves a signed slash command, and `podman stop` ends it with SIGTERM, exit 0, within the documented
10 s. Also: a root-owned /data is one clear line, and the simulator stops on SIGTERM as process 1.

    .venv/bin/python scripts/smoke-image.py [IMAGE]     # default ecs-reset-bot:latest
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

from cryptography.fernet import Fernet

from bot.demo import APPROVERS_CHANNEL, REQUESTER
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack, SlackRequests, SlackUser
from bot.slack import ids

STOP_LIMIT_S = 10.0  # README: the bot stops within docker's and Kubernetes' default grace
SIGNING_SECRET = "smoke-signing-secret"
TARGETS_IN_IMAGE = "/opt/venv/lib/python3.11/site-packages/bot/demo_targets.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - podman with arguments this script builds
        ["podman", *args],  # noqa: S607 - podman from PATH, as an operator runs it
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result


async def until(what: str, probe: Callable[[], Awaitable[bool]], timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:g} s")


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    async def run(self, name: str, check: Callable[[], Awaitable[None]]) -> None:
        started = time.monotonic()
        try:
            await check()
        except Exception as exc:
            self.failed += 1
            print(f"FAILED {name} ({time.monotonic() - started:.1f} s): {exc}", flush=True)
        else:
            self.passed += 1
            print(f"ok     {name} ({time.monotonic() - started:.1f} s)", flush=True)


async def main(image: str) -> int:
    sim = Simulator(Fleet.generate(5, seed=1))
    await sim.start()
    slack = FakeSlack(
        users=[SlackUser(REQUESTER, "alice", "Alice")], channels={APPROVERS_CHANNEL: "approvals"}
    )
    await slack.start()
    port = free_port()
    name = f"ecs-reset-bot-smoke-{uuid.uuid4().hex[:8]}"
    env = {
        "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_HTTP_HOST": "127.0.0.1",
        "BOT_HTTP_PORT": str(port),
        "BOT_CONFIG": TARGETS_IN_IMAGE,
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "BOT_SIMULATOR_URL": sim.url,
        "DEMO_ACCESS_KEY": DEMO_ACCESS_KEY,
        "DEMO_SECRET_KEY": DEMO_SECRET_KEY,
        "DEMO_IAM_USER": DEMO_USER.name,
        "DEMO_IAM_PASSWORD": DEMO_USER.password,
    }
    env_args = [f"--env={k}={v}" for k, v in env.items()]
    checks = Checks()
    stopped: dict[str, float] = {}

    async def starts_and_is_healthy() -> None:
        # No periodic checks (podman schedules them with systemd timers); `healthcheck run` asks on demand.
        podman("run", "--detach", "--name", name, "--network", "host", "--health-interval=disable", *env_args,
               image, "run")  # fmt: skip

        async def healthy() -> bool:
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            if state != "running":
                raise AssertionError(f"container {state}:\n{podman('logs', name, check=False).stderr}")
            return podman("healthcheck", "run", name, check=False).returncode == 0

        await until("the health check passes", healthy, 90)

    async def runs_as_non_root() -> None:
        uid = podman("exec", name, "id", "-u").stdout.strip()
        assert uid not in ("", "0"), f"uid {uid!r}"

    async def serves_a_signed_command() -> None:
        requests = SlackRequests(SIGNING_SECRET, slack=slack)
        since = slack.call_count
        status, _ = await requests.deliver(
            f"http://127.0.0.1:{port}/slack/events",
            requests.slash_command(ids.COMMAND, "", user_id=REQUESTER),
        )
        assert status == 200, status
        await slack.wait_for("views.open", None, 15, since=since)

    async def stops_on_sigterm_in_time() -> None:
        started = time.monotonic()
        podman("stop", "--time", str(int(STOP_LIMIT_S)), name, timeout=60)
        stopped["s"] = time.monotonic() - started
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        logs = podman("logs", name, check=False).stderr
        assert code == "0", f"exit {code} (137 means killed after the grace):\n{logs[-3000:]}"
        assert stopped["s"] < STOP_LIMIT_S, f"took {stopped['s']:.1f} s"
        assert "stopped" in logs, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]

    async def unwritable_data_is_one_line() -> None:
        with tempfile.TemporaryDirectory() as folder:  # owned by root, mode 0700: uid 10001 cannot write
            result = podman(
                "run", "--rm", "--network", "host", "--health-interval=disable", f"--volume={folder}:/data",
                *env_args, image, "run", check=False, timeout=120,
            )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert "cannot write the database folder /data" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr, result.stderr

    async def simulator_stops_as_process_one() -> None:
        sim_name = f"{name}-sim"
        podman("run", "--detach", "--name", sim_name, "--network", "host", "--health-interval=disable",
               image, "simulator", "--port",
               str(free_port()))  # fmt: skip
        try:
            await until("the simulator prints its URL", _logged(sim_name, "simulator listening"), 60)
            started = time.monotonic()
            podman("stop", "--time", "10", sim_name, timeout=60)
            took = time.monotonic() - started
            code = podman("inspect", "--format", "{{.State.ExitCode}}", sim_name).stdout.strip()
            assert code == "0", f"exit {code}"
            assert took < 5, f"took {took:.1f} s"
        finally:
            podman("rm", "--force", sim_name, check=False)

    try:
        await checks.run("starts; health check (BOT_HTTP_HOST=127.0.0.1) passes", starts_and_is_healthy)
        await checks.run("runs as a non-root user", runs_as_non_root)
        await checks.run("serves a signed slash command", serves_a_signed_command)
        await checks.run(f"stops on SIGTERM with exit 0 within {STOP_LIMIT_S:g} s", stops_on_sigterm_in_time)
        await checks.run("a root-owned /data is one clear line, exit 1", unwritable_data_is_one_line)
        await checks.run("the simulator stops on SIGTERM as process 1", simulator_stops_as_process_one)
    finally:
        podman("rm", "--force", name, check=False)
        with contextlib.suppress(Exception):
            await slack.stop()
            await sim.stop()
    print(f"smoke: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def _logged(name: str, text: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        result = podman("logs", name, check=False)
        return text in result.stdout + result.stderr

    return probe


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ecs-reset-bot:latest")))
