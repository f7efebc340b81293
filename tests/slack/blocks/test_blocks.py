"""Block Kit builders: valid for slack_sdk, within Slack limits for 1 and 1,000 servers, user text escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_helpers import block_texts, make_view
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain import DecisionRecord, RequestStatus, ServerPhase
from bot.slack import ids
from bot.slack.blocks.card import approval_card, card_text, results_thread
from bot.slack.blocks.common import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT, escape
from bot.slack.blocks.dm import ephemeral_passwords, requester_status, reveal_done, reveal_offer
from bot.slack.blocks.modals import deny_modal, notice_modal, request_modal, reveal_modal, server_option
from bot.workflow import DeliveredSecret

HOSTILE = "<!channel> & <@U0BOSS> <https://evil.example|click me> `x`"
MODAL_BLOCK_LIMIT = 100


def as_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    """What the bot sends; `to_dict()` raises SlackObjectFormationError on anything Slack would refuse."""
    return [b.to_dict() for b in blocks]


def assert_message_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= MESSAGE_BLOCK_LIMIT
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= SECTION_TEXT_LIMIT
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                assert len(element.get("value", "")) <= 2000
            elif "text" in element and isinstance(element["text"], str):
                assert len(element["text"]) <= SECTION_TEXT_LIMIT


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("count", [1, 1000])
@pytest.mark.parametrize("status", list(RequestStatus))
def test_approval_card_in_every_state(count: int, status: RequestStatus) -> None:
    view = make_view(count, status=status, preflight_error="The server is locked.", outcome="3 of 3 reset.")
    blocks = as_dicts(approval_card(view))
    assert_message_limits(blocks)
    found = buttons(blocks)
    if status == RequestStatus.PENDING:
        assert [b["action_id"] for b in found] == [ids.APPROVE_ACTION, ids.DENY_ACTION]
        assert {b["value"] for b in found} == {"7"}
    else:
        assert found == []
    assert len(card_text(view)) < 200


def test_card_for_1000_servers_lists_15_and_points_to_the_thread() -> None:
    blocks = as_dicts(approval_card(make_view(1000)))
    text = block_texts(blocks)
    assert "*Servers (1000)*" in text
    assert "`web-0015`" in text
    assert "`web-0016`" not in text
    assert "…and 985 more (full list in the thread)" in text
    assert "reset the login password of 1000 server(s)" in text


def test_card_with_long_names_and_errors_still_says_how_many_more() -> None:
    """64-character names (the ECS maximum) and long cloud errors: whole lines, then the count."""
    view = make_view(
        1000,
        name=lambda i: f"payments-api-{i:05d}-".ljust(64, "x"),
        preflight_error="The cloud refused this server: " + "very long explanation " * 12,
    )
    blocks = as_dicts(approval_card(view))
    assert_message_limits(blocks)
    servers = next(
        b["text"]["text"] for b in blocks if "*Servers (1000)*" in b.get("text", {}).get("text", "")
    )
    lines = servers.splitlines()[1:]
    shown = len(lines) - 1
    assert 0 < shown < 15
    assert lines[-1] == f"…and {1000 - shown} more (full list in the thread)"
    assert not any(line.endswith("…") for line in lines), "no line is cut mid-way"


def test_results_thread_covers_every_server_in_short_messages() -> None:
    view = make_view(1000, phase=ServerPhase.SUCCEEDED)
    chunks = results_thread(view)
    assert len(chunks) == 25
    lines = [line for chunk in chunks for line in chunk.splitlines()]
    assert len(lines) == 1000
    assert all(len(chunk) <= 4000 for chunk in chunks)
    assert lines[0].startswith(":white_check_mark: `web-0001`")


def test_user_text_is_escaped_on_the_card() -> None:
    denial = DecisionRecord(7, "U0APPROVER", "deny", HOSTILE, datetime.now(UTC))  # type: ignore[arg-type]
    view = make_view(
        2,
        reason=HOSTILE,
        name=lambda i: f"<!here>-{i}",
        preflight_error="<!everyone> broke",
        outcome=HOSTILE,
        decisions=[denial],
        status=RequestStatus.PENDING,
    )
    dumped = json.dumps(as_dicts(approval_card(view)))
    for raw in ("<!channel>", "<@U0BOSS>", "<https://evil", "<!here>", "<!everyone>"):
        assert raw not in dumped
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in dumped
    assert "<@UDEMOREQUESTER>" in dumped, "the bot's own mentions still work"
    status_dump = json.dumps(as_dicts(requester_status(view)))
    assert "<!channel>" not in status_dump
    assert "<!here>" not in status_dump
    assert "`&lt;!here&gt;-1`" in status_dump, "the DM lists the servers, escaped"


def test_escape() -> None:
    assert escape("a<b>&c") == "`a&lt;b&gt;&amp;c`"
    assert escape("&lt;") == "`&amp;lt;`", "already-escaped text is escaped again, never trusted"


@pytest.mark.parametrize("status", list(RequestStatus))
def test_requester_status_offers_cancel_only_while_open(status: RequestStatus) -> None:
    blocks = as_dicts(requester_status(make_view(1000, status=status, outcome="done")))
    assert_message_limits(blocks)
    expected = [ids.CANCEL_ACTION] if status in (RequestStatus.PREFLIGHT, RequestStatus.PENDING) else []
    assert [b["action_id"] for b in buttons(blocks)] == expected


@pytest.mark.parametrize("count", [1, 1000])
def test_password_blocks_for_many_servers(count: int) -> None:
    shared = [DeliveredSecret(tuple(f"web-{i:04d}" for i in range(count)), "Pw-shared-1!")]
    per_server = [DeliveredSecret((f"<web>-{i}",), f"Pw-{i:04d}-x!") for i in range(count)]
    for secrets in (shared, per_server):
        messages = [as_dicts(blocks) for blocks in ephemeral_passwords(3, secrets)]
        for ephemeral in messages:
            assert_message_limits(ephemeral)
        modal = reveal_modal(3, secrets).to_dict()
        assert len(modal["blocks"]) <= MODAL_BLOCK_LIMIT
        assert modal["callback_id"] == ids.REVEAL_MODAL
        assert "private_metadata" not in modal
        assert "<web>" not in json.dumps(modal)
        # Every password reaches the requester, none is cut off by a limit.
        for text in (json.dumps(messages), json.dumps(modal)):
            assert all(secret.password in text for secret in secrets)
    if count == 1000:
        assert "and 980 more" in json.dumps([as_dicts(b) for b in ephemeral_passwords(3, shared)])


def test_caveat_when_a_password_may_not_have_been_applied() -> None:
    secrets = [DeliveredSecret(("web-0001",), "Pw-1!", applied=False)]
    assert "may not have been applied" in json.dumps([as_dicts(b) for b in ephemeral_passwords(1, secrets)])
    assert "may not have been applied" in json.dumps(reveal_modal(1, secrets).to_dict())


def test_reveal_offer_and_done() -> None:
    offer = as_dicts(reveal_offer(4, "t" * 43, datetime.now(UTC)))
    assert_message_limits(offer)
    [button] = buttons(offer)
    assert (button["action_id"], button["value"]) == (ids.REVEAL_ACTION, "t" * 43)
    done = as_dicts(reveal_done(4, datetime.now(UTC)))
    assert buttons(done) == []


def test_request_modal() -> None:
    view: View = request_modal(["demo-aksk"], prefill="web-0001\nweb-0002", reason_hint="Must match ^X")
    modal = view.to_dict()
    assert modal["callback_id"] == ids.REQUEST_MODAL
    assert len(modal["title"]["text"]) <= 24
    assert modal["blocks"][0]["element"]["initial_option"]["value"] == "demo-aksk"
    many = request_modal([f"target-{i}" for i in range(100)]).to_dict()
    assert "initial_option" not in many["blocks"][0]["element"]
    assert len(many["blocks"][0]["element"]["options"]) == 100


def test_deny_and_notice_modals() -> None:
    deny = deny_modal(123456, "Denying ends request #123456.").to_dict()
    assert deny["private_metadata"] == "123456"
    assert len(deny["title"]["text"]) <= 24
    notice = notice_modal("Not allowed", "x" * 2999).to_dict()
    assert "submit" not in notice


def test_server_option_label_is_clipped() -> None:
    option = server_option("n" * 200, "id-1", "10.0.0.1, Linux, ACTIVE").to_dict()
    assert len(option["text"]["text"]) == 75
    assert option["value"] == "id-1"
