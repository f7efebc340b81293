"""Outside text can only be read: hostile server names, reasons, deny reasons and cloud errors, over
every message and view the bot builds, never become a mention, a link, formatting or a forged line.

Every hostile string carries the sentinel `ZQ`: wherever it lands, it must be inside a code span that
closes on its own line, and the text around it must have exactly the lines a harmless input gives.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_helpers import (
    APPROVERS,
    REQUESTER,
    card,
    card_where,
    make_view,
    status_of,
    submit_request,
)

from bot.demo import World, deny_values
from bot.domain import DecisionRecord, RequestStatus, ServerPhase
from bot.simulator import Fleet
from bot.slack import ids
from bot.slack.blocks.card import approval_card, results_thread
from bot.slack.blocks.common import escape, server_line
from bot.slack.blocks.dm import ephemeral_passwords, requester_status
from bot.slack.blocks.modals import reveal_modal, server_option
from bot.slack.blocks.text import suspicious_name, visible
from bot.workflow import DeliveredSecret

SENTINEL = "ZQ"
HOSTILE = [
    "ZQ <!here>",
    "ZQ <!channel> <!everyone>",
    "ZQ <@U0BOSS> approved",
    "ZQ <#C0SECRET>",
    "ZQ <!subteam^S0LEADS>",
    "ZQ <https://evil.example/runbook|the runbook>",
    "ZQ https://evil.example/bare",
    "ZQ`code ends here` *bold* _italic_ ~strike~",
    "ZQ```block```",
    "ZQ\n*Reason:* forged line",
    "ZQ\r\n> quoted\n>>> quote block",
    "ZQ\u2028Approved by <@U0BOSS>",
    "ZQ &lt;!here&gt; &amp;",
    "ZQ web\u200b-01",
    "ZQ web-01\u202e10-bew\u202c",
    "ZQ w\u0435b-01",  # a Cyrillic small ie among Latin letters
    "ZQ :skull: @here @channel",
]
OWN_TOKENS = re.compile(r"<@U[A-Z0-9]+>|<!date\^[0-9]+\^[^|>]*\|[^>]*>")


def assert_inert(text: str, benign_lines: int | None = None) -> None:
    """What outside text may do to a mrkdwn text: nothing but be read."""
    assert not any(unicodedata.category(c) == "Cf" or c in "\u2028\u2029\r" for c in text), (
        f"hidden character left in {text!r}"
    )
    stripped = OWN_TOKENS.sub("", text)
    assert "<" not in stripped, f"a Slack token survived: {text!r}"
    assert ">" not in stripped, f"a Slack token or quote survived: {text!r}"
    for line in text.split("\n"):
        parts = line.split("`")
        assert len(parts) % 2 == 1, f"a code span is left open on {line!r}"
        outside = "".join(parts[0::2])
        assert SENTINEL not in outside, f"outside text escaped its code span: {line!r}"
    if benign_lines is not None:
        assert lines(text) == benign_lines, f"a line was forged: {text!r}"


def lines(text: str) -> int:
    """Lines, not counting the bot's own second-look warnings (a hostile name earns one)."""
    return sum(1 for line in text.split("\n") if not line.lstrip().startswith(":warning: _Check this one"))


def texts_of(blocks: Iterable[Any]) -> list[str]:
    """Every mrkdwn text of these blocks (sections, fields, context elements)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([b.to_dict() if hasattr(b, "to_dict") else b for b in blocks])
    return found


def hostile_view(text: str, status: RequestStatus = RequestStatus.PENDING) -> Any:
    denial = DecisionRecord(7, APPROVERS[0], "deny", text, datetime.now(UTC))  # type: ignore[arg-type]
    view = make_view(
        3,
        status=status,
        reason=text,
        name=lambda i: f"{text}-{i}",
        preflight_error=text,
        outcome=text,
        decisions=[denial],
        phase=ServerPhase.FAILED if status == RequestStatus.FAILED else ServerPhase.WAITING,
    )
    servers = [replace(s, error_message=text, tags=(text, "env=prod")) for s in view.servers]
    return type(view)(view.request, servers, view.decisions, view.approvers_channel)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("status", [RequestStatus.PENDING, RequestStatus.DENIED, RequestStatus.FAILED])
def test_every_block_builder_keeps_outside_text_inert(text: str, status: RequestStatus) -> None:
    view = hostile_view(text, status)
    benign = hostile_view(SENTINEL, status)
    built = {
        "card": (approval_card(view), approval_card(benign)),
        "requester DM": (requester_status(view), requester_status(benign)),
    }
    for where, (blocks, benign_blocks) in built.items():
        said = [t for t in texts_of(blocks) if "need a second look" not in t]  # the bot's own note
        for hostile_text, benign_text in zip(said, texts_of(benign_blocks), strict=True):
            try:
                assert_inert(hostile_text, lines(benign_text))
            except AssertionError as exc:
                raise AssertionError(f"{where}: {exc}") from None
    for chunk, benign_chunk in zip(results_thread(view), results_thread(benign), strict=True):
        assert_inert(chunk, lines(benign_chunk))
    secrets = [DeliveredSecret(tuple(s.name for s in view.servers), "canary-Pa55word!")]
    for message in ephemeral_passwords(7, secrets):
        for mrkdwn in texts_of(message):
            assert_inert(mrkdwn.replace("```canary-Pa55word!```", ""))
    for mrkdwn in texts_of(reveal_modal(7, secrets).blocks):
        assert_inert(mrkdwn.replace("```canary-Pa55word!```", ""))


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_alone(text: str) -> None:
    shown = escape(text)
    assert_inert(shown, 1)
    assert shown.startswith("`")
    assert shown.endswith("`")


@pytest.mark.parametrize("text", HOSTILE)
def test_typeahead_options_show_hidden_characters(text: str) -> None:
    option = server_option(text, "00000000-0000-4000-8000-000000000001", "10.0.0.1, Linux").to_dict()
    label = option["text"]["text"]
    assert option["text"]["type"] == "plain_text"
    assert "\n" not in label
    assert not any(unicodedata.category(c) == "Cf" for c in label)
    if suspicious_name(text):
        assert label.startswith("⚠ ")


def test_look_alikes_are_made_visible_and_flagged() -> None:
    assert suspicious_name("web-01") is None
    assert suspicious_name("сервер-01") is None, "one script alone is not a look-alike"
    assert "scripts" in (suspicious_name("w\u0435b-01") or "")
    assert "invisible" in (suspicious_name("web\u200b-01") or "")
    assert "invisible" in (suspicious_name("web-01\u202e") or "")
    line = server_line(make_view(1, name=lambda _: "w\u0435b-01").servers[0])
    assert "`w[U+0435]b-01`" in line
    assert ":warning:" in line
    assert visible("a\u200bb\nc") == "a[U+200B]b⏎c"


def test_card_shows_id_ip_os_status_and_flags_namesakes() -> None:
    view = make_view(2, name=lambda _: "web-01")
    servers = [
        replace(s, private_ip=f"10.0.0.{i}", tags=(f"env=e{i}",), namesakes=1)
        for i, s in enumerate(view.servers, 1)
    ]
    view = type(view)(view.request, servers, view.decisions, view.approvers_channel)
    text = "\n".join(texts_of(approval_card(view)))
    for server in servers:
        assert server.server_id in text
        assert server.private_ip is not None
        assert server.private_ip in text
    assert "Linux" in text
    assert "ACTIVE" in text
    assert "appears more than once in this request" in text
    assert "1 other server(s) of the target have the same name" in text
    assert "`env=e1`" in text
    assert "`env=e2`" in text
    assert "2 server(s) need a second look" in text


# -- end to end: every message the bot sends, from a hostile fleet and hostile people -------------------


def hostile_fleet() -> Fleet:
    fleet = Fleet.generate(6, seed=3)
    fleet.add("web-01", addresses=["10.1.0.1"], tags=["env=prod"])
    fleet.add("web-01", addresses=["10.2.0.1"], tags=["env=staging"])
    fleet.add("w\u0435b-01", addresses=["10.3.0.1"], tags=["env=prod"])
    fleet.add("ZQ`x` *bold*\n*Reason:* forged <!here>", addresses=["10.4.0.1"])
    return fleet


def everything_said(world: World) -> list[str]:
    """Every mrkdwn text the bot sent to Slack: messages, edits, ephemerals, views, command answers."""
    said: list[str] = []
    for call in world.slack.calls():
        args = call.args
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            said.append(str(args.get("text") or ""))
            blocks = args.get("blocks")
            said += texts_of(json.loads(blocks) if isinstance(blocks, str) else blocks or [])
        elif call.method.startswith("views."):
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else view or {}
            said += texts_of(view.get("blocks") or [])
    return said


async def test_a_hostile_request_stays_inert_everywhere(make_world: Any) -> None:
    world: World = await make_world(fleet=hostile_fleet())
    fleet = world.sim.fleet
    [twin_prod, twin_staging] = [s for s in fleet if s.name == "web-01"]
    look_alike = next(s for s in fleet if s.name == "w\u0435b-01")
    hostile = next(s for s in fleet if s.name.startswith("ZQ"))
    reason = "OPS-1 ZQ <!channel> `x` *Approved by* <@U0BOSS>\n*Reason:* forged <https://evil|runbook>"
    request = await submit_request(
        world, [twin_prod.id, twin_staging.id, look_alike.id, hostile.id], reason=reason
    )
    shown = card(world, request.id)
    text = "\n".join(texts_of(shown.blocks))
    for server in (twin_prod, twin_staging, look_alike, hostile):
        assert server.id in text
        assert server.addresses[0] in text
    assert "`env=prod`" in text
    assert "`env=staging`" in text
    assert "w[U+0435]b-01" in text
    assert "4 server(s) need a second look" in text
    # A deny reason and the replies of status and history carry outside text too.
    since = world.slack.call_count
    await world.click(APPROVERS[0], ids.DENY_ACTION, shown)
    await world.slack.wait_for("views.open", None, 5.0, since=since)
    [opened] = world.slack.open_views(APPROVERS[0])
    deny = deny_values(reason)
    status, _ = await world.send(
        world.requests.view_submission(
            user_id=APPROVERS[0], view=world.slack.view_payload(opened.id), values=deny
        )
    )
    assert status == 200
    await card_where(world, request.id, lambda m: "Denied" in "\n".join(texts_of(m.blocks)))
    assert await status_of(world, request.id) == RequestStatus.DENIED
    answers = []
    for words in (f"status {request.id}", "history"):
        code, body = await world.send(world.requests.slash_command(ids.COMMAND, words, user_id=REQUESTER))
        assert code == 200
        answers.append(json.loads(body)["text"] if body.startswith("{") else body)
    await world.runtime.tasks.idle()
    for said in [*everything_said(world), *answers]:
        assert_inert(said)
    assert any(SENTINEL in a for a in answers), "the replies did quote the outside text"
