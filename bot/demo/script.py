"""`python -m bot demo`: one request from slash command to revealed password, narrated, then break-glass.

What each person does is printed as a `>>` line, what each sees as the fake Slack draws it; the run ends
with the three steps to a real workspace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bot.app import Tuning
from bot.demo.cast import APPROVERS, APPROVERS_CHANNEL, INCIDENT_COMMANDER, REQUESTER
from bot.demo.world import World
from bot.slack import ids

NEXT_STEPS = """\
That was the whole flow, on a simulated cloud and a fake Slack. To connect a real workspace:
  1. Create the Slack app from manifest.yml (https://api.slack.com/apps > Create New App > From a manifest),
     install it, and create an app-level token with the scope connections:write.
  2. Write your targets file, starting from examples/targets.yml, and export the cloud credentials it names.
  3. Set SLACK_BOT_TOKEN (xoxb-...), SLACK_APP_TOKEN (xapp-...), BOT_CONFIG (the targets file) and
     BOT_SECRET_KEY (a Fernet key: python -c "from cryptography.fernet import Fernet;
     print(Fernet.generate_key().decode())"), then run `python -m bot doctor` and `python -m bot run`.
README.md, "Setting it up in a workspace", has the details."""


def indented(entry: str) -> str:
    """One transcript entry with every line after the first indented under it, relative indentation kept.

    The fake Slack indents each block by four spaces, but a block's own line breaks (a list in a section)
    start at column 0; those get the block's indentation too, so a list reads as part of its message.
    """
    first, *rest = entry.split("\n")
    return "\n".join([first, *(line if line.startswith("    ") else f"    {line}" for line in rest)])


def _form_values(view: Mapping[str, Any]) -> list[str]:
    """What the bot pre-filled in the form (the fake Slack draws inputs as empty boxes)."""
    found = []
    for block in view.get("blocks") or []:
        element = block.get("element") if isinstance(block, dict) else None
        if not isinstance(element, dict):
            continue
        label = str((block.get("label") or {}).get("text", ""))
        if element.get("initial_value"):
            found.append(f"{label}: {', '.join(str(element['initial_value']).split())}")
        elif isinstance(element.get("initial_option"), dict):
            found.append(f"{label}: {element['initial_option']['text']['text']}")
    return found


async def _break_glass_act(world: World, person: Callable[[str], None], server: str) -> bool:
    """Break-glass: the incident commander runs a reset without approval; everyone is told at once and
    an approver acknowledges it afterwards. False when the bot refused a step (printed)."""
    reason = "INC-7 payment database down, no approver answering"
    person(
        f"3 a.m., an incident: @erin (incident commander) types /reset-ecs-password {server}, ticks "
        f"'Emergency: run without approval', gives the reason {reason!r} and clicks Check and submit"
    )
    form = await world.open_modal(INCIDENT_COMMANDER, server)
    status, answer = await world.submit(
        INCIDENT_COMMANDER, form, target="demo-aksk", servers=[server], reason=reason, emergency=True
    )
    if status != 200 or '"push"' not in answer:
        person(f"the bot refused the emergency form ({status}): {answer}")
        return False
    person("@erin reads what will happen and who will be told, and clicks Run without approval")
    confirmation = world.slack.open_views(INCIDENT_COMMANDER)[-1]
    await world.send(
        world.requests.view_submission(
            user_id=INCIDENT_COMMANDER, view=world.slack.view_payload(confirmation.id)
        )
    )
    await world.wait("chat.postMessage", lambda c: "BREAK-GLASS" in str(c.args.get("text")), 30)
    await world.wait("chat.postMessage", lambda c: "server(s) reset" in str(c.args.get("text")), 30)
    await world.runtime.tasks.idle()
    request = (await world.runtime.store.list_requests(requester_id=INCIDENT_COMMANDER, limit=1))[0]
    person("@bob (lead) reads his DM, checks the incident, and clicks Acknowledge on the card")
    await world.click(
        APPROVERS[0],
        ids.ACKNOWLEDGE_ACTION,
        world.message_like(APPROVERS_CHANNEL, f"Password reset request #{request.id} "),
    )
    await world.wait("chat.postMessage", lambda c: "acknowledged by" in str(c.args.get("text")), 10)
    await world.runtime.tasks.idle()
    return True


async def run_demo(printer: Callable[[str], None] = print) -> int:
    """One request from slash command to revealed password, narrated: what each person does (lines with
    `>>`) and what each sees (the fake Slack's lines), then the three steps to a real workspace."""

    def person(line: str) -> None:
        printer(f"\n>> {line}")

    # Home tabs are published only when someone opens one here: the automatic refreshes would print
    # every involved person's Home tab at each step.
    tuning = Tuning(sweep_interval_s=1.0, job_poll_interval_s=0.05, drain_timeout_s=5.0, home_refresh_s=None)
    world = await World.start(printer=lambda entry: printer(indented(entry)), tuning=tuning)
    try:
        ready = [s for s in world.sim.fleet if s.plugin_installed and not s.locked and s.status == "ACTIVE"]
        servers = [s.name for s in ready[:3]]
        reason = "OPS-42 root password lost after migration"
        printer(f"Simulator at {world.sim.url}; fake Slack at {world.slack.url}; bot at {world.bot_url}")
        person(f"@alice (on call) types: /reset-ecs-password {' '.join(servers)}")
        view = await world.open_modal(REQUESTER, " ".join(servers))
        prefilled = _form_values(view)
        if prefilled:
            printer("    (pre-filled by the bot: " + "; ".join(prefilled) + ")")
        person(
            "@alice fills in the form and clicks Check and submit:\n"
            f"    Target: demo-aksk\n    Servers: {', '.join(servers)}\n"
            "    Password: one for the whole batch\n    Restart: soft restart after the reset\n"
            f"    Reason: {reason}"
        )
        status, answer = await world.submit(
            REQUESTER, view, target="demo-aksk", servers=servers, reason=reason, reboot="soft"
        )
        if status != 200 or answer.strip():
            printer(f"the bot refused the request form ({status}): {answer}")
            return 1
        card = await world.card_for()
        await world.runtime.tasks.idle()
        person("@bob (lead) opens the bot's Home tab: what waits on his decision")
        await world.open_home(APPROVERS[0])
        person(
            "@bob (lead) clicks Approve on the card in #ecs-approvals (the Home tab's Approve does the same)"
        )
        await world.click(APPROVERS[0], ids.APPROVE_ACTION, card)
        offer = await world.wait(
            "chat.postMessage", lambda c: "ready to reveal" in str(c.args.get("text")), 30
        )
        await world.wait("chat.postMessage", lambda c: "server(s) reset" in str(c.args.get("text")), 30)
        await world.runtime.tasks.idle()
        person("@alice clicks Reveal once in her DM with the bot")
        await world.click(
            REQUESTER, ids.REVEAL_ACTION, world.message_like(str(offer.args["channel"]), "Your new password")
        )
        await world.wait("views.open", lambda c: ids.REVEAL_MODAL in json.dumps(c.args.get("view")), 10)
        await world.runtime.tasks.idle()
        person("@alice opens the bot's Home tab: her requests, and a New request button")
        await world.open_home(REQUESTER)
        if not await _break_glass_act(world, person, ready[3].name):
            return 1
        printer(f"\n{NEXT_STEPS}")
        return 0
    finally:
        await world.close()
