"""Break-glass moves the tests share: a World whose demo-aksk allows break-glass (by ID and by group), the
emergency form, its confirmation, and a run as a process leaves it when it stopped after the claim."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_helpers import REQUESTER, delivered_passwords, passwords_by_server

from bot.demo import DEMO_TARGETS, World
from bot.domain import NewRequest
from bot.metrics import REGISTRY
from bot.simulator.slack import SlackUsergroup
from bot.slack import ids
from bot.workflow import SealedPasswords, Submission

IC = "UDEMOIC"
"""Listed by ID in demo-aksk's break_glass.allowed."""
IC_BY_GROUP = "UDEMOIC2"
"""In the @incident-commanders user group, which demo-aksk's break_glass.allowed names."""
AUDIT_CHANNEL = "CAUDITLOG02"
REASON = "INC-501 payment database down at 3 a.m., no approver answers"


def break_glass_targets(folder: Path) -> Path:
    """The demo targets (break-glass on demo-aksk only) with a user group among the allowed too."""
    text = DEMO_TARGETS.read_text()
    assert "allowed: [UDEMOIC]" in text
    path = folder / "targets.yml"
    path.write_text(text.replace("allowed: [UDEMOIC]", 'allowed: [UDEMOIC, "@incident-commanders"]'))
    return path


async def start(make_world: Any, tmp_path: Path, **kwargs: Any) -> World:
    world: World = await make_world(
        env={"BOT_CONFIG": str(break_glass_targets(tmp_path)), "BOT_AUDIT_CHANNEL": AUDIT_CHANNEL},
        usergroups=[SlackUsergroup("SINCIDENTS", "incident-commanders", [IC_BY_GROUP])],
        **kwargs,
    )
    world.slack.add_user(IC, "ivy", "Ivy (incident commander)")
    world.slack.add_user(IC_BY_GROUP, "ian", "Ian (incident commander)")
    world.slack.add_channel(AUDIT_CHANNEL, "ecs-audit")
    return world


def counted(event: str) -> float:
    labels = {"target": "demo-aksk", "event": event}
    return REGISTRY.get_sample_value("ecs_reset_break_glass_total", labels) or 0.0


async def ask(world: World, user: str, servers: list[str], **kwargs: Any) -> tuple[dict[str, Any], str]:
    """Opens the form and submits it with Emergency ticked: the form, and the bot's answer."""
    form = await world.open_modal(user, " ".join(servers))
    status, answer = await world.submit(
        user, form, target="demo-aksk", servers=servers, reason=REASON, emergency=True, **kwargs
    )
    assert status == 200, answer
    return form, answer


async def confirm(world: World, user: str) -> str:
    """Submits the confirmation on top of the user's modal stack; returns the bot's answer."""
    pushed = world.slack.open_views(user)[-1]
    assert pushed.view["callback_id"] == ids.BREAK_GLASS_MODAL
    status, answer = await world.send(
        world.requests.view_submission(user_id=user, view=world.slack.view_payload(pushed.id))
    )
    assert status == 200, answer
    return answer


async def break_glass(world: World, user: str, servers: list[str]) -> int:
    """The whole emergency path: form, confirmation, recorded; returns the request number."""
    _, answer = await ask(world, user, servers)
    assert json.loads(answer)["response_action"] == "push", answer
    answer = await confirm(world, user)
    assert json.loads(answer) == {"response_action": "clear"}, answer
    request = (await world.runtime.store.list_requests(requester_id=user, limit=1))[0]
    await world.card_for(request.id)
    return request.id


async def delivered_passwords_to(world: World, user: str, request_id: int) -> tuple[Any, dict[str, str]]:
    if user == REQUESTER:
        return await delivered_passwords(world, request_id)
    call = await world.slack.wait_for(
        "chat.postEphemeral",
        lambda c: f"request #{request_id}" in str(c.args.get("text")) and c.args.get("user") == user,
        20.0,
    )
    return call, passwords_by_server(call.args.get("blocks") or [])


async def claimed_by_a_stopped_process(world: World, servers: list[str], *, sealed: bool) -> int:
    """The store as a process leaves it when it stopped right after `_start_break_glass` claimed the
    request and before its announcement went out: the same store calls, by worker "stopped", no card, no
    DM. `sealed`: its execution had sealed the password (the announcement outlasted its wait)."""
    workflow, store = world.runtime.workflow, world.runtime.store
    checked, errors = await workflow.check(Submission("demo-aksk", IC, servers, REASON, break_glass=True))
    assert checked is not None, errors
    config = checked.target
    assert config.break_glass is not None
    new = NewRequest(
        target=config.name,
        requester_id=IC,
        reason=checked.reason,
        password_mode=checked.submission.password_mode,
        reboot=checked.submission.reboot,
        approvals_required=config.approvals_required,
        expires_at=workflow.clock.now() + config.request_ttl,
        break_glass=True,
    )
    made = await store.create_break_glass_request(new, checked.servers, cooldown=config.break_glass.cooldown)
    assert made.request is not None
    claimed = await store.start_break_glass(made.request.id, "stopped")
    assert claimed is not None
    if sealed:
        passwords = SealedPasswords.generate(new.password_mode, [s.server_id for s in checked.servers])
        assert await store.start_execution(claimed.id, "stopped", IC, passwords.dumps(), [])
    return claimed.id


def posted_since(world: World, since: int) -> list[str]:
    return [str(c.args.get("channel")) for c in world.slack.calls()[since:] if c.method == "chat.postMessage"]
