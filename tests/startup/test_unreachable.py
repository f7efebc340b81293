"""A Slack that hangs or goes away: `doctor` keeps its deadlines, `run` retries, is not ready, and stops on a
signal at any moment without a traceback."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from support.operator import Bot, SilentServer, assert_quiet, environment
from support.processes import free_port

from bot.simulator import Simulator
from bot.simulator.slack import FAKE_APP_TOKEN, FakeSlack


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
