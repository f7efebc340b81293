"""Every error of the fake Slack's table (tests/support/slack_errors.py) lands in the kind the bot
handles it by (bot/slack/refusals.py), answered over real HTTP by the strict fake Slack. The table's
timeouts hold a call 60 s: they are checked here as the exceptions the client raises instead."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from support.slack_errors import ALL_CASES, TIMEOUT, ErrorClass, SlackErrorCase

from bot.simulator.slack import FakeSlack
from bot.slack.refusals import RefusalKind, classify

KINDS = {
    ErrorClass.RETRY_LATER: RefusalKind.RETRY_LATER,
    ErrorClass.OPERATOR_MUST_FIX: RefusalKind.OPERATOR_MUST_FIX,
    ErrorClass.PERSON_UNREACHABLE: RefusalKind.UNREACHABLE,
    ErrorClass.TRIGGER_EXPIRED: RefusalKind.TRIGGER_EXPIRED,
}


ARGS = {
    "auth.test": {},
    "chat.postMessage": {"channel": "C1", "text": "x"},
    "chat.update": {"channel": "C1", "ts": "1.0", "text": "x"},
    "chat.postEphemeral": {"channel": "C1", "user": "U1", "text": "x"},
    "conversations.open": {"users": "U1"},
    "views.open": {
        "trigger_id": "t",
        "view": {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []},
    },
    "usergroups.list": {},
}


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.error != TIMEOUT and c.method in ARGS], ids=str)
async def test_each_refusal_in_the_table_is_classified_as_the_table_says(case: SlackErrorCase) -> None:
    async with FakeSlack() as fake:
        case.script(fake)
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
        with pytest.raises(SlackApiError) as raised:
            await client.api_call(case.method, json=ARGS[case.method])
        assert classify(raised.value, case.method).kind == KINDS[case.kind], case


@pytest.mark.parametrize("exc", [TimeoutError(), aiohttp.ServerDisconnectedError(), ConnectionResetError()])
def test_no_answer_at_all_is_retry_later(exc: BaseException) -> None:
    assert classify(exc, "chat.postMessage").kind == RefusalKind.RETRY_LATER
