"""When Slack refuses: each failure of issue 10 over real HTTP, against the strict fake Slack.

Each test sets up the refusal the way a workspace really gets into it (the bot removed from a channel,
a channel archived, a token revoked) or scripts Slack's answer, then checks that the bot stays truthful:
the right person is told, nothing else is skipped, and no password is lost.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    deny,
    passwords_by_server,
    resettable_servers,
    reveal_offer,
    server_id,
    status_of,
    submit_request,
    targets_file,
    view_json,
)
from support.polling import eventually

from bot.demo import World
from bot.domain import RequestStatus
from bot.metrics import REGISTRY
from bot.simulator.slack import SlackCall, SlackUsergroup
from bot.slack import ids

WorldFactory = Callable[..., Awaitable[World]]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def dm_texts(world: World, user: str = REQUESTER) -> str:
    return "\n".join(
        m.text + block_texts(m.blocks) for m in world.slack.messages(world.slack.dm_channel(user))
    )


def requester_told_denied(world: World, request_id: int) -> Callable[[SlackCall], bool]:
    dm = world.slack.dm_channel(REQUESTER)
    return lambda c: (
        c.args.get("channel") == dm and f"Your request #{request_id} was denied" in str(c.args["text"])
    )


async def test_a_deleted_card_silences_nothing(world: World) -> None:
    """Failure 2: chat.update answers message_not_found (an admin deleted the card), then a denial:
    the thread note, the requester's DM status and the "denied" DM all follow, and the card comes back."""
    request = await submit_request(world, resettable_servers(world, 1))
    world.slack.fail("chat.update", "message_not_found", channel=APPROVERS_CHANNEL)
    await deny(world, request.id, "Not in the change window")
    await world.wait("chat.postMessage", requester_told_denied(world, request.id))
    assert await status_of(world, request.id) == RequestStatus.DENIED
    await world.runtime.tasks.idle()
    reposted = card(world, request.id)
    assert "*Denied*" in block_texts(reposted.blocks), "the card was posted again, as it stands"
    assert any("Denied by" in m.text for m in world.slack.replies(APPROVERS_CHANNEL, reposted.ts)) or any(
        "Denied by" in str(c.args.get("text"))
        for c in world.slack.calls("chat.postMessage")
        if c.args.get("thread_ts")
    )
    dm = world.slack.messages(world.slack.dm_channel(REQUESTER))[0]
    assert "Waiting for approval" not in block_texts(dm.blocks)
    assert not [b for b in dm.blocks if b["type"] == "actions"], "no Cancel button left on a denied request"
    assert (
        metric(
            "ecs_reset_slack_refusals_total",
            method="chat.update",
            error="message_not_found",
            kind="message_gone",
        )
        >= 1
    )


async def test_rate_limited_card_edits_silence_nothing_and_land_later(world: World) -> None:
    """Failure 2 again with 429s on chat.update: everything else goes at once; the sweeper edits the
    card once Slack takes it again."""
    request = await submit_request(world, resettable_servers(world, 1))
    world.slack.rate_limit("chat.update", times=8, retry_after=1, channel=APPROVERS_CHANNEL)
    await deny(world, request.id, "Wrong ticket")
    await world.wait("chat.postMessage", requester_told_denied(world, request.id), 20.0)
    await card_where(world, request.id, card_says("*Denied*"), 40.0)
    thread = [str(c.args["text"]) for c in world.slack.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert any("Denied by" in t for t in thread)


async def test_an_approvers_channel_without_the_bot_is_told_at_once(world: World) -> None:
    """Failure 3: the bot is not in the approvers channel. The requester learns it in their DM (channel
    named, operator must fix), /healthz names it, a metric moves; once invited, the card is posted."""
    world.slack.remove_from_channel(APPROVERS_CHANNEL, world.slack.bot_user_id)
    view = await world.open_modal(REQUESTER, "")
    names = resettable_servers(world, 1)
    status, answer = await world.submit(
        REQUESTER, view, target="demo-aksk", servers=names, reason="OPS-1 lost"
    )
    assert (status, answer.strip()) == (200, "")
    await eventually(lambda: "Approvers cannot see your request" in dm_texts(world), 15, "the requester told")
    told = dm_texts(world)
    assert f"<#{APPROVERS_CHANNEL}>" in told
    assert "not a member" in told
    assert "operator must fix" in told
    assert metric("ecs_reset_slack_channel_unusable", channel=APPROVERS_CHANNEL) == 1
    health = await healthz(world)
    assert health[0] == 200
    assert APPROVERS_CHANNEL in health[1]["slack"]

    world.slack.invite(APPROVERS_CHANNEL, world.slack.bot_user_id)
    request = (await world.runtime.store.list_requests(requester_id=REQUESTER, limit=1))[0]
    await eventually(lambda: world.slack.messages(APPROVERS_CHANNEL), 30, "the card, once the bot is invited")
    assert f"#{request.id}" in card(world, request.id).text
    await eventually(
        lambda: "Approvers can now see your request" in dm_texts(world), 15, "the requester told again"
    )
    assert metric("ecs_reset_slack_channel_unusable", channel=APPROVERS_CHANNEL) == 0
    assert APPROVERS_CHANNEL not in (await healthz(world))[1]["slack"]


async def test_an_undeliverable_password_is_loud_and_still_offered(world: World) -> None:
    """Failure 4: the ephemeral answers user_not_in_channel and posts in the DM answer is_archived.
    The card and its thread say the password was not delivered, the audit says delivery_failed; once
    the DM works again the sweeper offers the Reveal, and the password (the one the cloud set) is had."""
    names = resettable_servers(world, 1)
    request = await submit_request(world, names)
    dm = world.slack.dm_channel(REQUESTER)
    before = metric("ecs_reset_passwords_undelivered_total")
    ephemeral = world.slack.fail("chat.postEphemeral", "user_not_in_channel", None)
    archived = world.slack.fail("chat.postMessage", "is_archived", None, channel=dm)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    final = await card_where(world, request.id, card_says("Password NOT delivered"), 30.0)
    # The delivery failed and the card says so: the DM works again from here. Kept refusing while the
    # checks below run, the sweeper's retries of the offer would space out (2, 4, 8, 16 s...) as long as a
    # loaded machine makes those checks take, past the wait for the offer further down.
    world.slack.faults.remove(ephemeral)
    world.slack.faults.remove(archived)
    assert "*Done*" in block_texts(final.blocks) or "reset" in block_texts(final.blocks)
    await eventually(
        lambda: any(
            "Password NOT delivered" in m.text for m in world.slack.replies(APPROVERS_CHANNEL, final.ts)
        ),
        15,
        "the card's thread saying the password was not delivered",
    )
    await world.runtime.tasks.idle()
    events = [a.event for a in await world.runtime.store.audit(request.id)]
    assert "delivery_failed" in events
    assert "delivered" not in events
    assert metric("ecs_reset_passwords_undelivered_total") == before + 1

    await eventually(
        lambda: any("ready to reveal" in m.text for m in world.slack.messages(dm)), 30, "the Reveal offer"
    )
    offer = await reveal_offer(world, request.id)
    for attempt in range(2):
        since = world.slack.call_count
        await world.click(REQUESTER, ids.REVEAL_ACTION, offer)
        shown = await world.slack.wait_for("views.open", None, 10.0, since=since)
        if shown.ok:
            break
        # Slack's 3 s for the click's trigger passed on a starved machine: the reveal stays usable, the
        # requester is told to click again, and does.
        assert shown.error == "expired_trigger_id", (shown.status, shown.error)
        assert attempt == 0, "the reveal modal did not open twice"
    password = passwords_by_server(view_json(shown)["blocks"])[names[0]]
    assert world.sim.fleet.password_matches(server_id(world, names[0]), password)
    await eventually(lambda: "Reveal" in block_texts(card(world, request.id).blocks), 15, "the card's reveal")


async def test_a_slash_command_whose_form_cannot_open_is_answered(world: World) -> None:
    """Failure 5: views.open answers expired_trigger_id: the person is told through response_url."""
    world.slack.fail("views.open", "expired_trigger_id")
    since = world.slack.call_count
    status, _ = await world.send(world.requests.slash_command(ids.COMMAND, "", user_id=REQUESTER))
    assert status == 200
    answer = await world.slack.wait_for("response_url", None, 10.0, since=since)
    assert answer.ok
    assert "did not open the request form" in str(answer.args["text"])
    assert f"Type `{ids.COMMAND}` again" in str(answer.args["text"])


async def test_a_missing_scope_is_not_shown_as_not_allowed(make_world: WorldFactory, tmp_path: Path) -> None:
    """Failure 6: requesters ["@oncall"] and usergroups.list answers missing_scope: the person is told
    the bot is misconfigured and by what, never that they may not request."""
    config = targets_file(
        tmp_path, {"demo-aksk": {"requesters": '["@oncall"]'}, "demo-iam": {"requesters": '["@oncall"]'}}
    )
    # The group exists at start-up (handles are pinned then); reading its members is what Slack refuses.
    world = await make_world(
        env={"BOT_CONFIG": str(config)}, usergroups=[SlackUsergroup("S0ONCALL", "oncall", [REQUESTER])]
    )
    world.slack.fail("usergroups.users.list", "missing_scope", None)
    since = world.slack.call_count
    await world.send(world.requests.slash_command(ids.COMMAND, "", user_id=REQUESTER))
    opened = await world.slack.wait_for("views.open", None, 10.0, since=since)
    notice = json.dumps(view_json(opened))
    assert "Not allowed" not in notice
    assert "may not request" not in notice
    assert "misconfigured" in notice
    assert "usergroups:read" in notice or "missing_scope" in notice


async def test_a_revoked_token_fails_health_and_people_are_told(world: World) -> None:
    """Failure 7: every method answers token_revoked. /reset-ecs-password says the bot is misconfigured
    (through response_url, which needs no token); /healthz answers 503 with the reason and recovers by
    itself once the token works again; a metric says so meanwhile."""
    since = world.slack.call_count
    await world.send(world.requests.slash_command(ids.COMMAND, "help", user_id=REQUESTER))
    world.slack.revoke_token("token_revoked")
    await world.send(world.requests.slash_command(ids.COMMAND, "", user_id=REQUESTER))
    answer = await world.slack.wait_for("response_url", None, 10.0, since=since)
    assert "misconfigured" in str(answer.args["text"])
    assert "token_revoked" in str(answer.args["text"])
    status, body = await healthz(world)
    assert status == 503
    assert "token_revoked" in json.dumps(body["problems"])
    assert metric("ecs_reset_slack_token_refused") == 1
    assert (
        metric(
            "ecs_reset_slack_refusals_total",
            method="views.open",
            error="token_revoked",
            kind="operator_must_fix",
        )
        >= 1
    )

    world.slack.restore_token()

    async def healthy() -> bool:
        return (await healthz(world))[0] == 200

    await eventually(healthy, 20, "/healthz 200 again", interval=0.25)
    assert metric("ecs_reset_slack_token_refused") == 0


async def test_a_refusal_that_cannot_be_posted_goes_through_response_url(world: World) -> None:
    """Failure 8: chat.postEphemeral answers user_not_in_channel; a non-approver's refused click is
    answered through the click's response_url instead of being lost."""
    request = await submit_request(world, resettable_servers(world, 1))
    world.slack.fail("chat.postEphemeral", "user_not_in_channel", None)
    since = world.slack.call_count
    await world.click(REQUESTER, ids.APPROVE_ACTION, card(world, request.id))
    # The click's own response_url (in the approvers channel): a slash command's, answering a form whose
    # trigger expired on a loaded machine, is another channel's and no answer to this click.
    answer = await world.slack.wait_for(
        "response_url", lambda c: c.args.get("_channel") == APPROVERS_CHANNEL, 30.0, since=since
    )
    assert answer.ok
    assert answer.args["text"] == f"You cannot approve or deny your own request #{request.id}."
    assert answer.args.get("response_type") == "ephemeral"


async def healthz(world: World) -> tuple[int, dict[str, object]]:
    async with world.http.get(
        f"{world.bot_url}/healthz", timeout=aiohttp.ClientTimeout(total=10)
    ) as response:
        return response.status, await response.json()
