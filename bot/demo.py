"""A whole world on localhost: the ECS simulator, a fake Slack, and the real bot between them.

`python -m bot demo` (and `run` without Slack credentials) plays one request through it and prints
what each person would see; the end-to-end tests and the benchmarks drive the same `World`.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bot.app import Listeners, Runtime, Tuning
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import load_app_config
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import (
    FAKE_BOT_TOKEN,
    FakeSlack,
    SlackCall,
    SlackRequests,
    SlackUser,
    SlackUsergroup,
    StoredMessage,
    StoredView,
)
from bot.slack import ids

DEMO_TARGETS = Path(__file__).with_name("demo_targets.yml")
SIGNING_SECRET = "demo-signing-secret"
REQUESTER = "UDEMOREQUESTER"
APPROVERS = ("UDEMOAPPROVER1", "UDEMOAPPROVER2")
APPROVERS_CHANNEL = "CDEMOAPPROVALS"
INCIDENT_COMMANDER = "UDEMOIC"
"""May break glass on demo-aksk (its `break_glass.allowed`)."""


def demo_environment(sim_url: str, slack_api_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Everything the bot reads from the environment, pointing at the local fakes."""
    return {
        "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "BOT_MODE": "http",
        "BOT_HTTP_HOST": "127.0.0.1",
        "BOT_CONFIG": str(DEMO_TARGETS),
        "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'demo.sqlite3'}",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "BOT_SIMULATOR_URL": sim_url,
        "DEMO_ACCESS_KEY": DEMO_ACCESS_KEY,
        "DEMO_SECRET_KEY": DEMO_SECRET_KEY,
        "DEMO_IAM_USER": DEMO_USER.name,
        "DEMO_IAM_PASSWORD": DEMO_USER.password,
        **extra,
    }


@dataclass
class World:
    """The simulator, the fake Slack and one bot, all started; `close()` stops them in reverse."""

    sim: Simulator
    slack: FakeSlack
    runtime: Runtime
    bot_url: str
    requests: SlackRequests
    http: aiohttp.ClientSession
    listeners: Listeners
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    seen: int = field(default=0)

    @classmethod
    async def start(
        cls,
        *,
        servers: int = 40,
        seed: int = 7,
        env: Mapping[str, str] | None = None,
        tuning: Tuning | None = None,
        printer: Callable[[str], None] | None = None,
        fleet: Fleet | None = None,
        latency_s: float = 0.0,
        slack_options: Mapping[str, Any] | None = None,
        usergroups: Iterable[SlackUsergroup] = (),
        clock: Clock = SYSTEM_CLOCK,
    ) -> World:
        """Start everything; `slack_options` go to `FakeSlack` (a clock, scopes, rate limits…); `clock`
        is the bot's (tests move it instead of waiting)."""
        # Each part is stopped again if a later one fails or a signal cancels the start: no process, port
        # or temporary folder is left behind.
        async with contextlib.AsyncExitStack() as undo:
            sim = Simulator(fleet or Fleet.generate(servers, seed=seed), latency_s=latency_s)
            await sim.start()
            undo.push_async_callback(sim.stop)
            slack = FakeSlack(
                users=[
                    SlackUser(REQUESTER, "alice", "Alice (on call)"),
                    SlackUser(APPROVERS[0], "bob", "Bob (lead)"),
                    SlackUser(APPROVERS[1], "carol", "Carol (security)"),
                    SlackUser(INCIDENT_COMMANDER, "erin", "Erin (incident commander)"),
                ],
                channels={APPROVERS_CHANNEL: "ecs-approvals"},
                usergroups=usergroups,
                printer=printer,
                **(slack_options or {}),
            )
            await slack.start()
            undo.push_async_callback(slack.stop)
            tmp = tempfile.TemporaryDirectory(prefix="ecs-reset-bot-")
            undo.callback(tmp.cleanup)
            environ = demo_environment(sim.url, slack.api_url, Path(tmp.name), **(env or {}))
            runtime = await Runtime.build(
                load_app_config(environ, register_secrets=True),
                tuning=tuning or Tuning(sweep_interval_s=1.0, job_poll_interval_s=0.05, drain_timeout_s=5.0),
                clock=clock,
            )
            undo.push_async_callback(runtime.close)
            await runtime.start()
            listeners = await runtime.listen(http_port=0, metrics_port=0)
            undo.push_async_callback(listeners.close)
            world = cls(
                sim,
                slack,
                runtime,
                f"http://127.0.0.1:{listeners.slack_port}",
                SlackRequests(SIGNING_SECRET, slack=slack),
                aiohttp.ClientSession(),
                listeners,
                tmp,
            )
            undo.pop_all()
            return world
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Stops everything in reverse order; the temporary folder goes even if a step fails or is cut off."""
        try:
            await self.http.close()
            await self.listeners.close()
            await self.runtime.close()
            await self.slack.stop()
            await self.sim.stop()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    async def send(self, request: Any) -> tuple[int, str]:
        return await self.requests.deliver(f"{self.bot_url}/slack/events", request, self.http)

    async def wait(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> SlackCall:
        return await self.slack.wait_for(method, predicate, timeout)

    # -- the moves people make -----------------------------------------------------------------

    async def open_modal(self, user_id: str, text: str = "") -> dict[str, Any]:
        since = len(self.slack.calls())
        # This command's own trigger: a views.open that an earlier click caused may land meanwhile.
        trigger = self.slack.new_trigger_id(user_id)
        command = self.requests.slash_command(ids.COMMAND, text, user_id=user_id, trigger_id=trigger)
        status, _ = await self.send(command)
        assert status == 200, status
        call = await self.slack.wait_for(
            "views.open", lambda c: c.args.get("trigger_id") == trigger, 10.0, since=since
        )
        opened = self.slack.open_views(user_id)
        if call.ok and opened:
            # As Slack echoes it (with its id), so a submission closes or updates this very modal.
            return self.slack.view_payload(opened[-1].id)
        view = call.args["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)

    async def submit(
        self,
        user_id: str,
        view: Mapping[str, Any],
        *,
        target: str,
        servers: list[str],
        reason: str,
        mode: str = "shared",
        reboot: str = "none",
        tag: str | None = None,
        emergency: bool = False,
    ) -> tuple[int, str]:
        values = submission_values(
            target=target,
            paste="\n".join(servers),
            reason=reason,
            mode=mode,
            reboot=reboot,
            tag=tag,
            emergency=emergency,
        )
        return await self.send(self.requests.view_submission(user_id=user_id, view=view, values=values))

    async def card_for(
        self,
        request_id: int | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """The approval card as it stands now in the approvers' channel (it is edited in place)."""

        def is_card(call: SlackCall) -> bool:
            # A refused post (429, error) left no card behind: wait for one Slack accepted.
            if not call.ok or call.args.get("channel") != APPROVERS_CHANNEL or call.args.get("thread_ts"):
                return False
            return request_id is None or f"#{request_id} " in str(call.args.get("text"))

        call = await self.slack.wait_for("chat.postMessage", is_card, timeout)
        return self.message_like(APPROVERS_CHANNEL, str(call.args.get("text")).split(" by ")[0])

    def message_like(self, channel: str, text_start: str) -> StoredMessage:
        for message in reversed(self.slack.messages(channel)):
            if message.thread_ts is None and message.text.startswith(text_start):
                return message
        raise LookupError(f"no message starting {text_start!r} in {channel}")

    async def open_home(self, user_id: str) -> StoredView:
        """The person opens the bot's Home tab: Slack's event over HTTP, then the view it shows them."""
        since = self.slack.call_count
        answers = await self.requests.deliver_event(
            f"{self.bot_url}/slack/events", self.requests.app_home_opened(user_id=user_id), self.http
        )
        assert answers[-1][0] == 200, answers
        await self.slack.wait_for(
            "views.publish", lambda c: c.ok and c.args.get("user_id") == user_id, 10.0, since=since
        )
        home = self.slack.home(user_id)
        assert home is not None
        return home

    async def click(self, user_id: str, action_id: str, message: StoredMessage) -> tuple[int, str]:
        """Clicks the button `action_id` of a message as `user_id` would, value and all."""
        return await self.send(
            self.requests.block_actions(
                user_id=user_id,
                action_id=action_id,
                value=button_value(message.blocks, action_id),
                channel_id=message.channel,
                message_ts=message.ts,
                message=message.as_api(),
            )
        )


def submission_values(
    *,
    target: str,
    paste: str,
    reason: str,
    mode: str = "shared",
    reboot: str = "none",
    tag: str | None = None,
    picked: list[str] | None = None,
    emergency: bool = False,
) -> dict[str, Any]:
    """The modal's `state.values` as Slack sends them on submit (`emergency`: the break-glass box ticked)."""
    values = {
        ids.TARGET_BLOCK: {
            ids.TARGET_ACTION: {"type": "static_select", "selected_option": {"value": target}}
        },
        ids.SERVERS_BLOCK: {
            ids.SERVERS_ACTION: {
                "type": "multi_external_select",
                "selected_options": [{"value": v} for v in picked or []],
            }
        },
        ids.PASTE_BLOCK: {ids.PASTE_ACTION: {"type": "plain_text_input", "value": paste or None}},
        ids.TAG_BLOCK: {ids.TAG_ACTION: {"type": "plain_text_input", "value": tag}},
        ids.MODE_BLOCK: {ids.MODE_ACTION: {"type": "radio_buttons", "selected_option": {"value": mode}}},
        ids.REBOOT_BLOCK: {
            ids.REBOOT_ACTION: {"type": "radio_buttons", "selected_option": {"value": reboot}}
        },
        ids.REASON_BLOCK: {ids.REASON_ACTION: {"type": "plain_text_input", "value": reason}},
    }
    if emergency:
        picked_boxes = [{"value": "break_glass"}]
        values[ids.EMERGENCY_BLOCK] = {
            ids.EMERGENCY_ACTION: {"type": "checkboxes", "selected_options": picked_boxes}
        }
    return values


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    for block in blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element["value"])
    raise LookupError(f"no {action_id} button in the message")


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
