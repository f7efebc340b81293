"""Block Kit limits: every chat.* and views.* call is checked, answered as Slack answers, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator.slack import FakeSlack, SlackUser
from bot.simulator.slack import limits as slack_limits

ANN = "U0ANN"
CHANNEL = "C0APPROVERS"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(users=[SlackUser(ANN, "ann")], channels={CHANNEL: "approvers"}) as slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


def text(n: int, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": "x" * n}


def button(label: int = 5, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "b", "text": text(label), "value": "1", **extra}


def option(label: int = 5, value: int = 5) -> dict[str, Any]:
    return {"text": text(label), "value": "v" * value}


CONFIRM = {"title": text(10), "text": text(10), "confirm": text(5), "deny": text(5)}

# (blocks, the JSON pointer Slack names, the message) for one limit each; at the limit is accepted.
BROKEN: list[tuple[str, list[dict[str, Any]], str, str]] = [
    (
        "section text 3,000",
        [{"type": "section", "text": text(3001, "mrkdwn")}],
        "/blocks/0/text/text",
        "must be less than 3001 characters",
    ),
    (
        "section fields 10",
        [{"type": "section", "fields": [text(3, "mrkdwn")] * 11}],
        "/blocks/0/fields",
        "no more than 10 items allowed",
    ),
    (
        "header 150",
        [{"type": "header", "text": text(151)}],
        "/blocks/0/text/text",
        "must be less than 151 characters",
    ),
    (
        "context 10 elements",
        [{"type": "context", "elements": [text(3, "mrkdwn")] * 11}],
        "/blocks/0/elements",
        "no more than 10 items allowed",
    ),
    (
        "button text 75",
        [{"type": "actions", "elements": [button(76)]}],
        "/blocks/0/elements/0/text/text",
        "must be less than 76 characters",
    ),
    (
        "option text 75",
        [
            {
                "type": "section",
                "text": text(3),
                "accessory": {"type": "static_select", "options": [option(76)]},
            }
        ],
        "/blocks/0/accessory/options/0/text/text",
        "must be less than 76 characters",
    ),
    (
        "static select 100 options",
        [
            {
                "type": "section",
                "text": text(3),
                "accessory": {"type": "static_select", "options": [option()] * 101},
            }
        ],
        "/blocks/0/accessory/options",
        "no more than 100 items allowed",
    ),
    (
        "confirm needs its four fields",
        [
            {
                "type": "actions",
                "elements": [button(confirm={"title": text(3), "text": text(3), "confirm": text(3)})],
            }
        ],
        "/blocks/0/elements/0/confirm",
        "missing required field: deny",
    ),
    (
        "confirm title 100",
        [{"type": "actions", "elements": [button(confirm={**CONFIRM, "title": text(101)})]}],
        "/blocks/0/elements/0/confirm/title/text",
        "must be less than 101 characters",
    ),
    (
        "confirm text 300",
        [{"type": "actions", "elements": [button(confirm={**CONFIRM, "text": text(301)})]}],
        "/blocks/0/elements/0/confirm/text/text",
        "must be less than 301 characters",
    ),
    (
        "50 blocks in a message",
        [{"type": "divider"}] * 51,
        "/blocks",
        "no more than 50 items allowed",
    ),
]


@pytest.mark.parametrize(
    ("blocks", "pointer", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
async def test_message_limits_answer_invalid_blocks(
    fake: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], pointer: str, message: str
) -> None:
    for call in (
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks),
        client.chat_postEphemeral(channel=CHANNEL, user=ANN, text="t", blocks=blocks),
    ):
        with pytest.raises(SlackApiError) as err:
            await call
        answer = err.value.response
        assert answer["error"] == "invalid_blocks"
        assert f"{message} [json-pointer:{pointer}]" in answer["errors"]
        assert f"[ERROR] {message} [json-pointer:{pointer}]" in answer["response_metadata"]["messages"]
    posted = await client.chat_postMessage(channel=CHANNEL, text="card")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="t", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"
    assert fake.message(CHANNEL, posted["ts"]).text == "card"


async def test_blocks_at_the_limits_are_accepted(client: AsyncWebClient) -> None:
    blocks = [
        {"type": "header", "text": text(150)},
        {"type": "section", "text": text(3000, "mrkdwn"), "fields": [text(2000, "mrkdwn")] * 10},
        {"type": "context", "elements": [text(3, "mrkdwn")] * 10},
        {"type": "actions", "elements": [button(75, confirm=CONFIRM)]},
        {
            "type": "section",
            "text": text(3),
            "accessory": {"type": "static_select", "options": [option(75, 150)] * 100},
        },
    ] + [{"type": "divider"}] * 45
    assert len(blocks) == slack_limits.MESSAGE_BLOCKS
    assert (await client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))["ok"]


def modal(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "modal", "title": text(5), "blocks": list(blocks), **fields}


def text_input(**element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "reason",
        "label": text(6),
        "element": {"type": "plain_text_input", "action_id": "reason", **element},
    }


VIEWS_BROKEN: list[tuple[str, dict[str, Any], str]] = [
    (
        "100 blocks in a view",
        modal(*[{"type": "divider"}] * 101),
        "no more than 100 items allowed [json-pointer:/view/blocks]",
    ),
    (
        "private_metadata 3,000",
        modal(private_metadata="m" * 3001),
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ),
    ("title 24", modal(title=text(25)), "must be less than 25 characters [json-pointer:/view/title/text]"),
    (
        "max_length 3,000",
        modal(text_input(max_length=3001)),
        "must be less than 3001 [json-pointer:/view/blocks/0/element/max_length]",
    ),
    (
        "initial value longer than max_length",
        modal(text_input(max_length=10, initial_value="y" * 11)),
        "must be less than 11 characters [json-pointer:/view/blocks/0/element/initial_value]",
    ),
    (
        "section text in a view",
        modal({"type": "section", "text": text(3001)}),
        "must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]",
    ),
]


@pytest.mark.parametrize(("view", "message"), [v[1:] for v in VIEWS_BROKEN], ids=[v[0] for v in VIEWS_BROKEN])
async def test_view_limits_answer_invalid_arguments(
    fake: FakeSlack, client: AsyncWebClient, view: dict[str, Any], message: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=view)
    assert err.value.response["error"] == "invalid_arguments"
    assert err.value.response["response_metadata"]["messages"] == [f"[ERROR] {message}"]
    opened = await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=modal(text_input()))
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=opened["view"]["id"], view=view)
    assert err.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as err:
        await client.views_push(trigger_id=fake.new_trigger_id(ANN), view=view)
    assert err.value.response["error"] == "invalid_arguments"


async def test_home_tab_limits(client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "header", "text": text(151)}]}
    with pytest.raises(SlackApiError) as err:
        await client.views_publish(user_id=ANN, view=home)
    assert err.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 151 characters [json-pointer:/view/blocks/0/text/text]"
    ]


def test_options_answer_limit() -> None:
    assert slack_limits.options_answer_errors({"options": [option()] * 100}) == []
    assert slack_limits.options_answer_errors({"options": [option()] * 101}) == [
        "no more than 100 items allowed [json-pointer:/options]"
    ]
    assert slack_limits.options_answer_errors({"options": [option(76)]}) == [
        "must be less than 76 characters [json-pointer:/options/0/text/text]"
    ]


async def test_message_text_length(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="x" * slack_limits.MESSAGE_TEXT)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x" * (slack_limits.MESSAGE_TEXT + 1))
    assert err.value.response["error"] == "msg_too_long"
    assert (await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y" * 4000))["ok"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y" * 4001)
    assert err.value.response["error"] == "msg_too_long"
