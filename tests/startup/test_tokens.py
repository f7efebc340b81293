"""Slack refusing a token: `run` stops with one line naming the variable (exit 3), `doctor` names each."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.operator import Bot, assert_quiet, environment
from support.processes import free_port

from bot.simulator import Simulator
from bot.simulator.slack import FakeSlack


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
    other = "SLACK_APP_TOKEN" if variable == "SLACK_BOT_TOKEN" else "SLACK_BOT_TOKEN"
    assert other not in out.partition("cannot start:")[2].partition(";")[0], out
    # In Socket Mode a refused bot token costs one more call, to tell whether the app token is refused too.
    assert len(slack.calls("apps.connections.open")) == (0 if mode else 1)
    assert len(slack.calls("auth.test")) == 1


async def test_run_names_both_tokens_when_slack_refuses_both(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """An operator who pasted two wrong tokens learns it from one start, not from two in turn."""
    sim, slack = outside_world
    wrong = {"SLACK_BOT_TOKEN": "xoxb-0-wrong", "SLACK_APP_TOKEN": "xapp-0-wrong"}
    bots.append(bot := Bot(environment(tmp_path, sim.url, slack.api_url, **wrong), tmp_path / "run.log"))
    assert await bot.wait_exit() == 3
    out = bot.text()
    [line] = [line for line in out.splitlines() if " ERROR " in line]
    assert "cannot start: Slack refuses SLACK_BOT_TOKEN and SLACK_APP_TOKEN (invalid_auth: " in line, out
    # Where each right value is: the OAuth & Permissions page, and an app-level token with connections:write.
    assert "SLACK_BOT_TOKEN: copy the Bot User OAuth Token (xoxb-...)" in line, line
    assert "SLACK_APP_TOKEN: create an app-level token (xapp-...) with the scope connections:write" in line
    assert not any(token in out for token in wrong.values())
    assert "serving as" not in out
    assert_quiet(out)
    # One answer each, no retry: Slack answered, so nothing more to ask.
    assert [len(slack.calls(m)) for m in ("auth.test", "apps.connections.open")] == [1, 1]
