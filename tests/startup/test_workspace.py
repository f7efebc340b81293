"""What the targets name, checked in the workspace at start: an unknown user group is a configuration
problem (exit 2); a missing channel or person is a WARNING with its fix, and the bot serves."""

from __future__ import annotations

import signal
from pathlib import Path

from support.operator import Bot, assert_quiet, environment

from bot.demo import DEMO_TARGETS
from bot.simulator import Fleet, Simulator
from bot.simulator.slack import FakeSlack


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
