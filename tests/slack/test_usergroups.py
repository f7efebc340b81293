"""Approver groups on fresh facts, over signed HTTP: a member removed is refused at once, a Slack that
cannot say refuses the decision, a handle that does not exist stops start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from slack_helpers import (
    APPROVERS,
    REQUESTER,
    card,
    ephemeral_for,
    resettable_servers,
    status_of,
    submit_request,
    targets_file,
)

from bot.app import Runtime
from bot.config import ConfigError, load_app_config
from bot.demo import World, demo_environment
from bot.simulator.slack import FakeSlack, SlackUsergroup
from bot.slack import ids
from bot.store.records import RequestStatus

WorldFactory = Callable[..., Awaitable[World]]
LEADS_ID = "S0SRELEADS"


def leads_world_config(tmp_path: Path) -> dict[str, str]:
    path = targets_file(tmp_path, {"demo-aksk": {"approvers": '["@sre-leads"]'}})
    return {"BOT_CONFIG": str(path)}


async def leads_world(make_world: WorldFactory, tmp_path: Path, **env: str) -> World:
    return await make_world(
        env={**leads_world_config(tmp_path), **env},
        usergroups=[SlackUsergroup(LEADS_ID, "sre-leads", list(APPROVERS))],
    )


async def approve_and_hear(world: World, user: str, request_id: int) -> str:
    since = world.slack.call_count
    status, _ = await world.click(user, ids.APPROVE_ACTION, card(world, request_id))
    assert status == 200
    return str((await ephemeral_for(world, user, since=since)).args["text"])


async def test_a_member_removed_from_the_approver_group_is_refused_within_the_old_window(
    make_world: WorldFactory, tmp_path: Path
) -> None:
    """The race of the finding: membership read moments ago, the user removed, Approve clicked at once.
    Slack's subteam_members_changed event drops the group's list, so the click reads Slack again."""
    world = await leads_world(make_world, tmp_path, BOT_MEMBERSHIP_MAX_AGE="5m")
    first, second = resettable_servers(world, 2)
    warm = await submit_request(world, [first])
    assert "Approved" in await approve_and_hear(world, APPROVERS[0], warm.id)  # the list is now known
    request = await submit_request(world, [second])
    world.slack.usergroups[LEADS_ID].members.remove(APPROVERS[0])
    status, _ = await world.send(world.requests.subteam_members_changed(LEADS_ID, removed=[APPROVERS[0]]))
    assert status == 200
    answer = await approve_and_hear(world, APPROVERS[0], request.id)
    assert "not an approver" in answer
    assert await status_of(world, request.id) == RequestStatus.PENDING
    assert "Approved" in await approve_and_hear(world, APPROVERS[1], request.id)


async def test_without_events_a_decision_reads_slack_again_after_the_max_age(
    make_world: WorldFactory, tmp_path: Path
) -> None:
    """No event arrives: the list read for the first click is older than BOT_MEMBERSHIP_MAX_AGE at the
    second (the store's clock is not involved; the directory asks Slack again)."""
    world = await leads_world(make_world, tmp_path, BOT_MEMBERSHIP_MAX_AGE="0.001")
    first, second = resettable_servers(world, 2)
    warm = await submit_request(world, [first])
    assert "Approved" in await approve_and_hear(world, APPROVERS[0], warm.id)
    asked = len(world.slack.calls("usergroups.users.list"))
    request = await submit_request(world, [second])
    world.slack.usergroups[LEADS_ID].members.remove(APPROVERS[0])
    answer = await approve_and_hear(world, APPROVERS[0], request.id)
    assert "not an approver" in answer
    assert len(world.slack.calls("usergroups.users.list")) > asked
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_when_slack_cannot_say_who_is_in_the_group_the_approval_is_refused(
    make_world: WorldFactory, tmp_path: Path
) -> None:
    world = await leads_world(make_world, tmp_path, BOT_MEMBERSHIP_MAX_AGE="0.001")
    [name] = resettable_servers(world, 1)
    request = await submit_request(world, [name])
    world.slack.fail("usergroups.users.list", "internal_error", times=100)
    answer = await approve_and_hear(world, APPROVERS[0], request.id)
    assert "try again" in answer.lower()
    assert "nothing was changed" in answer
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_a_handle_the_workspace_does_not_have_stops_start_up(tmp_path: Path) -> None:
    path = targets_file(tmp_path, {"demo-aksk": {"approvers": '["@ghost-leads", UDEMOAPPROVER1]'}})
    async with FakeSlack(usergroups=[SlackUsergroup(LEADS_ID, "sre-leads", list(APPROVERS))]) as slack:
        environ = demo_environment("http://127.0.0.1:9", slack.api_url, tmp_path, BOT_CONFIG=str(path))
        runtime = await Runtime.build(load_app_config(environ, register_secrets=False))
        try:
            with pytest.raises(ConfigError) as caught:
                await runtime.start()
        finally:
            await runtime.close()
    [problem] = caught.value.problems
    assert "demo-aksk" in problem
    assert "@ghost-leads" in problem
    assert "S…" in problem


async def test_groups_are_pinned_and_the_mapping_logged(
    make_world: WorldFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.workflow.policy")
    await leads_world(make_world, tmp_path)
    assert f"@sre-leads = {LEADS_ID}" in caplog.text


async def test_a_request_from_another_workspace_is_refused(world: World) -> None:
    from bot.demo import SIGNING_SECRET
    from bot.simulator.slack import SlackRequests

    foreign = SlackRequests(SIGNING_SECRET, slack=world.slack, team_id="T0OTHERTEAM")
    since = world.slack.call_count
    status, _ = await world.send(foreign.slash_command(ids.COMMAND, "history", user_id=REQUESTER))
    assert status == 403
    assert [c for c in world.slack.calls()[since:] if c.method != "auth.test"] == []
