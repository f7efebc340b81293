"""What the targets name, checked in the workspace at start, once Slack accepted the tokens: an unknown user
group is a configuration problem (listed as the others, exit 2); a missing channel or person is a WARNING
with its fix, and the bot serves."""

from __future__ import annotations

import signal
from pathlib import Path

from support.operator import Bot, assert_quiet, environment
from support.processes import free_port

from bot.demo import DEMO_TARGETS
from bot.simulator import Fleet, Simulator
from bot.simulator.slack import FakeSlack


def with_approvers(tmp_path: Path, approvers: str) -> Path:
    """The demo targets with demo-aksk's approvers replaced."""
    targets = tmp_path / "targets.yml"
    original = "approvers: [UDEMOAPPROVER1, UDEMOAPPROVER2]"
    targets.write_text(DEMO_TARGETS.read_text().replace(original, f"approvers: {approvers}", 1))
    return targets


async def test_a_user_group_slack_does_not_have_is_listed_with_the_configuration_problems_exit_2(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """Found only once Slack answers, but a configuration problem all the same: the same listing, with
    its fix, as a mistake in the file (exit 2, as README says), not a log line of its own."""
    sim, slack = outside_world
    targets = with_approvers(tmp_path, '["@no-such-group", "@other-missing"]')
    env = environment(tmp_path, sim.url, slack.api_url, BOT_CONFIG=str(targets))
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    assert await bot.wait_exit() == 2, bot.text()
    out = bot.text()
    block = out[out.index("The configuration has problems") :]
    lines = block.splitlines()
    assert lines[:2] == [
        "The configuration has problems; the bot stopped before serving.",
        "2 configuration problems:",
    ]
    assert lines[2].startswith(
        "  - target demo-aksk, approvers: there is no user group @no-such-group in "
    ), block
    assert "create it first, or write the ID (S…) of the group you mean" in lines[2]
    assert lines[3].startswith("  - target demo-aksk, approvers: there is no user group @other-missing "), (
        block
    )
    assert " ERROR " not in out, "the listing, not a log line"
    assert "serving as" not in out
    assert_quiet(out)

    # The same listing as a mistake the file shows by itself.
    env["BOT_CONFIG"] = str(with_approvers(tmp_path, "[]"))
    bots.append(bot := Bot(env, tmp_path / "static.log"))
    assert await bot.wait_exit() == 2
    assert bot.text().startswith("The configuration has problems; nothing was started.\n1 configuration "), (
        bot.text()
    )


async def test_user_groups_are_asked_for_after_the_tokens(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """Targets naming a group: a refused token is still the token's one line (exit 3), never a traceback
    from `usergroups.list`; a group Slack has is pinned, and the bot serves."""
    sim, slack = outside_world
    slack.add_usergroup("S0LEADS", "sre-leads", ["UDEMOAPPROVER1"])
    targets = with_approvers(tmp_path, '["@sre-leads"]')
    env = environment(tmp_path, sim.url, slack.api_url, BOT_CONFIG=str(targets))
    bots.append(bot := Bot({**env, "SLACK_BOT_TOKEN": "xoxb-0-wrong"}, tmp_path / "refused.log"))
    assert await bot.wait_exit() == 3
    assert "cannot start: Slack refuses SLACK_BOT_TOKEN (invalid_auth" in bot.text(), bot.text()
    assert_quiet(bot.text())
    assert slack.calls("usergroups.list") == []

    bots.append(bot := Bot(env, tmp_path / "run.log"))
    await bot.wait_for_log(r"serving as")
    assert "user groups pinned: @sre-leads = S0LEADS" in bot.text()
    bot.proc.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(15) == 0
    assert_quiet(bot.text())


async def test_a_token_without_usergroups_read_is_one_line_naming_the_scope(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """The app installed before usergroups:read was in the manifest: Slack refuses usergroups.list."""
    sim, slack = outside_world
    slack.scopes = slack.scopes - {"usergroups:read"}
    env = environment(
        tmp_path, sim.url, slack.api_url, BOT_CONFIG=str(with_approvers(tmp_path, '["@sre-leads"]'))
    )
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    assert await bot.wait_exit() == 3
    out = bot.text()
    assert (
        "cannot start: cannot read the user groups the targets name: the Slack app lacks the scope" in out
    ), out
    assert "usergroups:read" in out
    assert len([line for line in out.splitlines() if " ERROR " in line]) == 1, out
    assert "serving as" not in out
    assert_quiet(out)


async def test_user_groups_wait_for_an_unreachable_slack_like_the_tokens(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, _ = outside_world
    closed = f"http://127.0.0.1:{free_port()}/api/"
    targets = with_approvers(tmp_path, '["@sre-leads"]')
    env = environment(tmp_path, sim.url, closed, BOT_CONFIG=str(targets))
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    await bot.wait_for_log(r"WARNING bot: Slack is unreachable at \S+auth.test", count=2)
    bot.proc.send_signal(signal.SIGTERM)
    assert await bot.wait_exit(15) == 0
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
