"""Moves and look-ups shared by the Slack front-end tests (imported by name, like sim_http)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.shown import passwords_by_server

from bot.demo import APPROVERS, APPROVERS_CHANNEL, DEMO_TARGETS, REQUESTER, World, button_value, deny_values
from bot.domain import (
    DecisionRecord,
    MessageRef,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    ServerPhase,
    ServerRecord,
)
from bot.simulator.slack import EphemeralMessage, SlackCall, StoredMessage
from bot.slack import ids
from bot.workflow import RequestView

GOOD_REASON = "OPS-42 root password lost after migration"
OUTSIDER = "UOUTSIDER"

__all__ = [
    "APPROVERS",
    "APPROVERS_CHANNEL",
    "GOOD_REASON",
    "OUTSIDER",
    "REQUESTER",
]


def resettable_servers(world: World, count: int, *, skip: int = 0) -> list[str]:
    """Names of servers the simulator will reset without complaint (plug-in, unlocked, running)."""
    names = [s.name for s in world.sim.fleet if s.plugin_installed and not s.locked and s.status == "ACTIVE"]
    names.sort()
    chosen = names[skip : skip + count]
    assert len(chosen) == count, f"the fleet has only {len(names)} resettable servers"
    return chosen


def server_id(world: World, name: str) -> str:
    server = world.sim.fleet.by_name(name)
    assert server is not None, name
    return server.id


def effects(world: World, since: int = 0) -> list[SlackCall]:
    """Calls the bot made on someone's behalf since `since` (Bolt's own auth.test is bookkeeping)."""
    return [c for c in world.slack.calls()[since:] if c.method != "auth.test"]


def view_json(call: SlackCall) -> dict[str, Any]:
    view = call.args.get("view")
    return json.loads(view) if isinstance(view, str) else dict(view or {})


def block_texts(blocks: Iterable[dict[str, Any]]) -> str:
    """Every text a person reads in these blocks, joined (sections, fields, context elements)."""
    parts: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        for item in list(block.get("fields") or []) + list(block.get("elements") or []):
            if isinstance(item, dict) and "text" in item:
                inner = item["text"]
                parts.append(str(inner.get("text", "") if isinstance(inner, dict) else inner))
    return "\n".join(parts)


async def submit_request(
    world: World,
    servers: list[str],
    *,
    target: str = "demo-aksk",
    reason: str = GOOD_REASON,
    mode: str = "shared",
    user: str = REQUESTER,
) -> RequestRecord:
    """Slash command, modal, submission: returns the recorded request once its card is posted."""
    view = await world.open_modal(user, " ".join(servers))
    status, answer = await world.submit(user, view, target=target, servers=servers, reason=reason, mode=mode)
    assert status == 200, answer
    assert not answer.strip(), answer
    request = (await world.runtime.store.list_requests(requester_id=user, limit=1))[0]
    await world.card_for(request.id)
    return request


def card(world: World, request_id: int) -> StoredMessage:
    """The approval card of a request as it stands now."""
    return world.message_like(APPROVERS_CHANNEL, f"Password reset request #{request_id} ")


async def card_where(
    world: World,
    request_id: int,
    predicate: Callable[[StoredMessage], bool],
    timeout: float = 15.0,  # noqa: ASYNC109
) -> StoredMessage:
    """Waits until the card (edited in place) satisfies `predicate`."""

    def edited(call: SlackCall) -> bool:
        return call.args.get("channel") == APPROVERS_CHANNEL and predicate(card(world, request_id))

    if not predicate(card(world, request_id)):
        await world.slack.wait_for("chat.update", edited, timeout)
    return card(world, request_id)


def card_says(text: str) -> Callable[[StoredMessage], bool]:
    return lambda message: text in block_texts(message.blocks)


async def status_of(world: World, request_id: int) -> RequestStatus:
    request = await world.runtime.store.get_request(request_id)
    assert request is not None
    return request.status


async def ephemeral_for(world: World, user: str = REQUESTER, *, since: int = 0) -> SlackCall:
    """The next chat.postEphemeral to `user` (refusals and deliveries arrive this way)."""
    return await world.slack.wait_for(
        "chat.postEphemeral", lambda c: c.args.get("user") == user, 10.0, since=since
    )


async def delivered_passwords(world: World, request_id: int) -> tuple[SlackCall, dict[str, str]]:
    """The ephemeral carrying the passwords of a request, and what it says per server."""
    call = await world.slack.wait_for(
        "chat.postEphemeral",
        lambda c: f"request #{request_id}" in str(c.args.get("text")) and c.args.get("user") == REQUESTER,
        20.0,
    )
    return call, passwords_by_server(call.args.get("blocks") or [])


async def reveal_offer(world: World, request_id: int) -> StoredMessage:
    """The normal DM with the Reveal button, as it stands now."""
    call = await world.slack.wait_for(
        "chat.postMessage",
        lambda c: f"request #{request_id} is ready to reveal" in str(c.args.get("text")),
        20.0,
    )
    return world.message_like(str(call.args["channel"]), f"Your new password for request #{request_id} ")


def ephemerals_to(world: World, user: str) -> list[EphemeralMessage]:
    return world.slack.ephemerals(user=user)


def reveal_button_value(message: StoredMessage) -> str:
    return button_value(message.blocks, ids.REVEAL_ACTION)


def targets_file(folder: Path, overrides: dict[str, dict[str, str]]) -> Path:
    """A copy of the demo targets with some lines replaced per target (e.g. restricted requesters)."""
    lines = DEMO_TARGETS.read_text().splitlines()
    current: str | None = None
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("- name:"):
            current = stripped.split(":", 1)[1].strip()
        key = stripped.split(":", 1)[0]
        if current in overrides and key in overrides[current] and not stripped.startswith("- name"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{key}: {overrides[current][key]}")
        else:
            out.append(line)
    path = folder / "targets.yml"
    path.write_text("\n".join(out) + "\n")
    return path


def make_view(
    servers: int = 1,
    *,
    request_id: int = 7,
    status: RequestStatus = RequestStatus.PENDING,
    reason: str = GOOD_REASON,
    target: str = "demo-aksk",
    name: Callable[[int], str] = lambda i: f"web-{i:04d}",
    phase: ServerPhase = ServerPhase.WAITING,
    preflight_error: str | None = None,
    outcome: str | None = None,
    decisions: list[DecisionRecord] | None = None,
    message_refs: Mapping[str, MessageRef] | None = None,
    approvals_required: int = 1,
    mode: PasswordMode = PasswordMode.SHARED,
) -> RequestView:
    """A request as the workflow hands it to a front end, built without a store."""
    now = datetime.now(UTC)
    record = RequestRecord(
        id=request_id,
        target=target,
        requester_id=REQUESTER,
        reason=reason,
        password_mode=mode,
        reboot=RebootMode.SOFT,
        approvals_required=approvals_required,
        status=status,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
        outcome_message=outcome,
        message_refs=dict(message_refs or {}),
    )
    rows = [
        ServerRecord(
            request_id=request_id,
            server_id=f"00000000-0000-4000-8000-{i:012d}",
            name=name(i),
            os_type="Linux",
            cloud_status="ACTIVE",
            locked=False,
            plugin_installed=True,
            preflight_error=preflight_error if i % 2 else None,
            phase=phase,
            error_code=None,
            error_message=None,
        )
        for i in range(1, servers + 1)
    ]
    return RequestView(record, rows, list(decisions or []), APPROVERS_CHANNEL)


async def deny(world: World, request_id: int, reason: str) -> None:
    """The first approver clicks Deny on the card and submits the reason in the modal it opens."""
    since = world.slack.call_count
    await world.click(APPROVERS[0], ids.DENY_ACTION, card(world, request_id))
    await world.slack.wait_for("views.open", None, 5.0, since=since)
    [opened] = world.slack.open_views(APPROVERS[0])
    status, body = await world.send(
        world.requests.view_submission(
            user_id=APPROVERS[0],
            view=world.slack.view_payload(opened.id),
            values=deny_values(reason),
        )
    )
    assert (status, body.strip()) == (200, "")
