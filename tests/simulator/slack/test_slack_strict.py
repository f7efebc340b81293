"""The fake Slack refuses what Slack refuses, each over real HTTP through slack_sdk's AsyncWebClient."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from support.clock import ManualClock
from support.fake_slack import REASON_MODAL, refused

from bot.simulator.slack import FakeSlack, SlackUser, SlackUsergroup
from bot.simulator.slack.scopes import manifest_bot_scopes

ANN, BOB, CAROL, ROBOT = "U0ANN", "U0BOB", "U0CAROL", "U0OTHERBOT"
APPROVERS, HIDDEN, ELSEWHERE, OLD = "C0APPROVERS", "G0HIDDEN", "C0ELSEWHERE", "C0OLD"


@pytest.fixture
async def fake(slack_clock: ManualClock) -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users=[
            SlackUser(ANN, "ann"),
            SlackUser(BOB, "bob"),
            SlackUser(CAROL, "carol"),
            SlackUser(ROBOT, "otherbot", is_bot=True),
        ],
        usergroups=[SlackUsergroup("S0LEADS", "leads", [BOB, CAROL])],
        clock=slack_clock,
    )
    slack.add_channel(APPROVERS, "approvers", members=[ANN, BOB])
    slack.add_channel(HIDDEN, "hidden", members=[ANN], bot_member=False, is_private=True)
    slack.add_channel(ELSEWHERE, "elsewhere", members=[ANN], bot_member=False)
    slack.add_channel(OLD, "old", members=[ANN], archived=True)
    async with slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


# ------------------------------------------------------------------------------------------- channels


async def test_channel_existence_membership_and_archive(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert (await client.chat_postMessage(channel=APPROVERS, text="card"))["ok"]
    assert (await refused(client.chat_postMessage(channel="C0NOSUCH", text="x")))[
        "error"
    ] == "channel_not_found"
    # A private channel without the bot is invisible to it; a public one says the bot is not in it.
    assert (await refused(client.chat_postMessage(channel=HIDDEN, text="x")))["error"] == "channel_not_found"
    assert (await refused(client.chat_postMessage(channel=ELSEWHERE, text="x")))["error"] == "not_in_channel"
    assert (await refused(client.chat_postMessage(channel=OLD, text="x")))["error"] == "is_archived"
    assert fake.messages(ELSEWHERE) == []
    assert fake.messages(OLD) == []


async def test_the_bot_removed_or_the_channel_archived_later(fake: FakeSlack, client: AsyncWebClient) -> None:
    card = await client.chat_postMessage(channel=APPROVERS, text="card")
    fake.archive_channel(APPROVERS)
    assert (await refused(client.chat_update(channel=APPROVERS, ts=card["ts"], text="x")))[
        "error"
    ] == "is_inactive"
    assert (await refused(client.chat_postMessage(channel=APPROVERS, text="x")))["error"] == "is_archived"
    fake.archive_channel(APPROVERS, archived=False)
    fake.remove_from_channel(APPROVERS, fake.bot_user_id)
    assert (await refused(client.chat_postMessage(channel=APPROVERS, text="x")))["error"] == "not_in_channel"
    fake.invite(APPROVERS, fake.bot_user_id)
    assert (await client.chat_update(channel=APPROVERS, ts=card["ts"], text="edited"))["ok"]
    assert fake.message(APPROVERS, card["ts"]).text == "edited"


async def test_conversations_info_tells_membership_and_archive(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.scopes = fake.scopes | {"channels:read"}
    info = await client.conversations_info(channel=ELSEWHERE)
    assert (info["channel"]["is_member"], info["channel"]["is_archived"]) == (False, False)
    assert (await client.conversations_info(channel=OLD))["channel"]["is_archived"] is True
    assert (await refused(client.conversations_info(channel=HIDDEN)))["error"] == "channel_not_found"


# --------------------------------------------------------------------------------------------- people


async def test_ephemeral_only_to_members_of_the_channel(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert (await client.chat_postEphemeral(channel=APPROVERS, user=ANN, text="hi"))["ok"]
    answer = await refused(client.chat_postEphemeral(channel=APPROVERS, user=CAROL, text="x"))
    assert answer["error"] == "user_not_in_channel"
    answer = await refused(client.chat_postEphemeral(channel=APPROVERS, user="U0NOBODY", text="x"))
    assert answer["error"] == "user_not_found"
    # In a DM only its owner reads: another person is not in that channel.
    dm = (await client.conversations_open(users=ANN))["channel"]["id"]
    answer = await refused(client.chat_postEphemeral(channel=dm, user=BOB, text="x"))
    assert answer["error"] == "user_not_in_channel"
    assert [e.user for e in fake.ephemerals()] == [ANN]


async def test_a_deactivated_member_is_unreachable(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.scopes = fake.scopes | {"users:read"}  # users.info is tested here; the bot does not ask for it
    dm = (await client.conversations_open(users=ANN))["channel"]["id"]
    posted = await client.chat_postMessage(channel=dm, text="Request received")
    fake.deactivate_user(ANN)
    assert (await refused(client.conversations_open(users=ANN)))["error"] == "user_disabled"
    assert (await refused(client.chat_postMessage(channel=dm, text="x")))["error"] == "is_archived"
    assert (await refused(client.chat_postMessage(channel=ANN, text="x")))["error"] == "is_archived"
    assert (await refused(client.chat_update(channel=dm, ts=posted["ts"], text="x")))[
        "error"
    ] == "is_inactive"
    answer = await refused(client.chat_postEphemeral(channel=APPROVERS, user=ANN, text="x"))
    assert answer["error"] == "user_not_in_channel"
    info = await client.users_info(user=ANN)
    assert info["user"]["deleted"] is True
    fake.deactivate_user(BOB)
    assert (await client.usergroups_users_list(usergroup="S0LEADS"))["users"] == [CAROL]
    listed = await client.usergroups_list(include_users=True)
    assert listed["usergroups"][0]["users"] == [CAROL]


async def test_the_bot_cannot_dm_a_bot(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert (await refused(client.conversations_open(users=ROBOT)))["error"] == "cannot_dm_bot"
    assert (await refused(client.chat_postMessage(channel=ROBOT, text="x")))["error"] == "cannot_dm_bot"
    assert (await refused(client.conversations_open(users="U0NOBODY")))["error"] == "user_not_found"


async def test_home_tab_for_deactivated_member_refused(fake: FakeSlack, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    assert (await client.views_publish(user_id=BOB, view=home))["ok"]
    fake.deactivate_user(BOB)
    assert (await refused(client.views_publish(user_id=BOB, view=home)))["error"] == "user_not_found"


# ------------------------------------------------------------------------------------- token and scopes


async def test_granted_scopes_come_from_the_manifest_and_show_in_every_answer(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    granted = set(manifest_bot_scopes())
    assert fake.scopes == granted
    answer = await client.auth_test()
    assert set(answer.headers["x-oauth-scopes"].split(",")) == granted
    refusal = await refused(client.reactions_add(channel=APPROVERS, timestamp="1.0", name="eyes"))
    assert refusal["error"] == "missing_scope"
    assert refusal["needed"] == "reactions:write"
    assert set(refusal["provided"].split(",")) == granted


async def test_a_scope_removed_from_the_install_is_missing(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.scopes = fake.scopes - {"usergroups:read"}
    refusal = await refused(client.usergroups_list(include_users=True))
    assert (refusal["error"], refusal["needed"]) == ("missing_scope", "usergroups:read")
    assert "usergroups:read" not in refusal["provided"].split(",")
    fake.scopes = fake.scopes - {"chat:write"}
    assert (await refused(client.chat_postMessage(channel=APPROVERS, text="x")))["needed"] == "chat:write"


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
async def test_token_states_refuse_every_call(fake: FakeSlack, client: AsyncWebClient, error: str) -> None:
    assert (await client.auth_test())["ok"]
    fake.revoke_token(error)
    assert (await refused(client.auth_test()))["error"] == error
    assert (await refused(client.chat_postMessage(channel=APPROVERS, text="x")))["error"] == error
    assert (await refused(client.views_open(trigger_id=fake.new_trigger_id(ANN), view={})))["error"] == error
    fake.restore_token()
    assert (await client.auth_test())["ok"]


# ----------------------------------------------------------------------------------------- triggers


async def test_a_trigger_expires_3_s_after_its_request_on_the_fakes_clock(
    fake: FakeSlack, client: AsyncWebClient, slack_clock: ManualClock
) -> None:
    on_time = fake.new_trigger_id(ANN)
    slack_clock.now += 2.9
    assert (await client.views_open(trigger_id=on_time, view=REASON_MODAL))["ok"]
    late = fake.new_trigger_id(ANN)
    slack_clock.now += 3.1
    assert (await refused(client.views_open(trigger_id=late, view=REASON_MODAL)))[
        "error"
    ] == "expired_trigger_id"
    assert (await refused(client.views_open(trigger_id=on_time, view=REASON_MODAL)))[
        "error"
    ] == "exchanged_trigger_id"


async def test_an_invalid_view_does_not_spend_the_trigger(fake: FakeSlack, client: AsyncWebClient) -> None:
    trigger = fake.new_trigger_id(ANN)
    broken = {**REASON_MODAL, "private_metadata": "x" * 3001}
    refusal = await refused(client.views_open(trigger_id=trigger, view=broken))
    assert refusal["error"] == "invalid_arguments"
    assert refusal["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
    ]
    assert (await client.views_open(trigger_id=trigger, view=REASON_MODAL))["ok"]
