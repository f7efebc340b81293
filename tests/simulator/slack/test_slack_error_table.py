"""The table of Slack refusals (tests/support/slack_errors.py) is complete and each case works."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from support.slack_errors import (
    ALL_CASES,
    METHODS,
    ErrorClass,
    SlackErrorCase,
    cases_for,
    methods_the_bot_calls,
)

from bot.simulator.slack import FakeSlack, SlackUser, SlackUsergroup

ANN = "U0ANN"
CHANNEL = "C0APPROVERS"
LEADS = "S0LEADS"
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Form"}, "blocks": []}
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}


def test_every_method_the_bot_calls_is_in_the_table() -> None:
    assert methods_the_bot_calls() <= set(METHODS), methods_the_bot_calls() - set(METHODS)
    assert "response_url" in METHODS, "respond() is how the bot answers when a message cannot be posted"


def test_every_class_is_represented() -> None:
    assert {c.kind for c in ALL_CASES} == set(ErrorClass)
    assert {c.error for c in cases_for(kind=ErrorClass.TRIGGER_EXPIRED)} == {
        "expired_trigger_id",
        "exchanged_trigger_id",
        "expired_url",
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(
        users=[SlackUser(ANN, "ann")],
        channels={CHANNEL: "approvers"},
        usergroups=[SlackUsergroup(LEADS, "leads", [ANN])],
    ) as slack:
        yield slack


def caller(fake: FakeSlack, client: AsyncWebClient, method: str) -> Callable[[], Awaitable[Any]]:
    """A call of `method` that succeeds in the fixture's workspace unless a case breaks it."""
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "auth.test": lambda: client.auth_test(),
        "chat.postMessage": lambda: client.chat_postMessage(channel=CHANNEL, text="x"),
        "chat.update": lambda: client.chat_update(channel=CHANNEL, ts=fake.messages(CHANNEL)[0].ts, text="y"),
        "chat.postEphemeral": lambda: client.chat_postEphemeral(channel=CHANNEL, user=ANN, text="x"),
        "conversations.open": lambda: client.conversations_open(users=ANN),
        "views.open": lambda: client.views_open(trigger_id=fake.new_trigger_id(ANN), view=MODAL),
        "views.publish": lambda: client.views_publish(user_id=ANN, view=HOME),
        "usergroups.list": lambda: client.usergroups_list(),
        "response_url": lambda: respond(fake.new_response_url(CHANNEL, ANN)),
        "usergroups.users.list": lambda: client.usergroups_users_list(usergroup=LEADS),
        "conversations.info": lambda: client.conversations_info(channel=CHANNEL),
        "users.info": lambda: client.users_info(user=ANN),
    }
    return calls[method]


async def respond(url: str) -> tuple[int, str]:
    """What Bolt's respond() does: POST JSON to the response_url."""
    async with aiohttp.ClientSession() as session, session.post(url, json={"text": "x"}) as response:
        return response.status, "ok" if response.status == 200 else await response.text()


async def answer_of(call: Callable[[], Awaitable[Any]]) -> tuple[int, str]:
    try:
        response = await call()
        if isinstance(response, tuple):
            return response
    except SlackApiError as err:
        data = err.response.data
        error = data.get("error") if isinstance(data, dict) else data
        return err.response.status_code, str(error)
    except TimeoutError:
        return 504, "timeout"
    return response.status_code, "ok"


@pytest.mark.parametrize("case", ALL_CASES, ids=str)
async def test_a_scripted_case_answers_once_then_the_method_works(
    fake: FakeSlack, case: SlackErrorCase
) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, timeout=1)
    await client.chat_postMessage(channel=CHANNEL, text="a message to edit")
    call = caller(fake, client, case.method)
    assert await answer_of(call) == (200, "ok")
    case.script(fake, times=1, hold_s=3)
    status, error = await answer_of(call)
    assert status == case.http_status
    if status == 200:
        assert error == case.error
    assert await answer_of(call) == (200, "ok")


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.arrangeable], ids=str)
async def test_an_arranged_case_is_what_slack_answers(fake: FakeSlack, case: SlackErrorCase) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    await client.chat_postMessage(channel=CHANNEL, text="a message to edit")
    dm = await client.conversations_open(users=ANN)
    target = (
        dm["channel"]["id"]
        if case.error == "user_disabled" and case.method != "conversations.open"
        else CHANNEL
    )
    case.arrange(fake, channel=target, user=ANN)
    assert await answer_of(caller(fake, client, case.method)) == (200, case.error)
