"""End-to-end harness: the real bot as a subprocess (`python -m bot run`), driven over real HTTP.

The test process owns the fakes: an ECS/IAM `Simulator` and a `FakeSlack`. Each bot subprocess reads
only its environment (the same contract an operator uses), logs at DEBUG to a file the tests read back,
and is reached on a free port. `Stack` holds all of it and knows the moves people make in Slack.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.demo import button_value, submission_values
from bot.simulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import (
    FAKE_BOT_TOKEN,
    FakeSlack,
    SignedRequest,
    SlackCall,
    SlackRequests,
    SlackUser,
    StoredMessage,
)
from bot.slack import ids
from support.processes import BotProcess, free_port

REPO = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret-0123456789"
REQUESTER = "UREQUESTER1"
OTHER_REQUESTER = "UREQUESTER2"
OUTSIDER = "UOUTSIDER1"
APPROVERS = tuple(f"UAPPROVER{i:02d}" for i in range(1, 61))
APPROVERS_CHANNEL = "CE2EAPPROVALS"

# The IAM user's password and the AK/SK are secrets too: the leak tests look for them as well.
CLOUD_SECRETS = (DEMO_SECRET_KEY, DEMO_USER.password)

TARGETS_YAML = """\
targets:
  - name: e2e-aksk
    cloud: huaweicloud
    region: eu-west-101
    project_id: {project_id}
    ecs_endpoint: "{sim_url}"
    iam_endpoint: "{sim_url}"
    auth: {{type: aksk, access_key_env: E2E_AK, secret_key_env: E2E_SK}}
    requesters: []
    approvers: [{approvers}]
    approvals_required: 1
    approvers_channel: {channel}
    request_ttl: {ttl}
  - name: e2e-iam
    cloud: otc
    region: eu-de
    project_id: {project_id}
    ecs_endpoint: "{sim_url}"
    iam_endpoint: "{sim_url}"
    auth: {{type: password, user_env: E2E_IAM_USER, password_env: E2E_IAM_PASSWORD, domain: {domain}}}
    requesters: [{requester}, {other_requester}]
    approvers: [{approvers}]
    approvals_required: 2
    approvers_channel: {channel}
    request_ttl: {ttl}
"""


@dataclass
class Flow:
    """What one request left behind: its number and the password(s) the requester received."""

    request_id: int
    ephemeral_passwords: list[str]
    revealed_passwords: list[str]
    servers: list[str]


PASSWORD_IN_BLOCK = re.compile(r"```(.+?)```", re.S)


def passwords_in_blocks(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    found: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, Mapping):
            found += PASSWORD_IN_BLOCK.findall(str(text.get("text") or ""))
    return found


@dataclass
class Stack:
    """Simulator + FakeSlack in this process, bot subprocess(es) around them, and people's moves."""

    sim: Simulator
    slack: FakeSlack
    tmp: Path
    requests: SlackRequests
    http: aiohttp.ClientSession
    targets_path: Path
    secret_key: str
    database_url: str
    bots: list[BotProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    # -- processes ------------------------------------------------------------------------------

    def environment(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "E2E_", "DEMO_"))}
        return {
            **base,
            "PYTHONPATH": str(REPO),
            "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "BOT_MODE": "http",
            "BOT_HTTP_HOST": "127.0.0.1",
            "BOT_HTTP_PORT": str(free_port()),
            "BOT_CONFIG": str(self.targets_path),
            "BOT_DATABASE_URL": self.database_url,
            "BOT_SECRET_KEY": self.secret_key,
            "BOT_LOG_LEVEL": "DEBUG",
            "BOT_SWEEP_INTERVAL": "1s",
            "BOT_EXECUTION_LEASE": "3s",
            "E2E_AK": DEMO_ACCESS_KEY,
            "E2E_SK": DEMO_SECRET_KEY,
            "E2E_IAM_USER": DEMO_USER.name,
            "E2E_IAM_PASSWORD": DEMO_USER.password,
            **self.extra_env,
            **extra,
        }

    async def start_bot(self, **extra: str) -> BotProcess:
        n = len(self.bots) + 1
        bot = BotProcess(self.environment(**extra), self.tmp / f"bot-{n}.log", self.tmp)
        self.bots.append(bot)
        await bot.start()
        return bot

    async def restart(self, bot: BotProcess) -> BotProcess:
        """A new process on the same port, database and log file (what a supervisor does)."""
        await bot.stop()
        again = BotProcess(bot.env, bot.log_path, self.tmp)
        self.bots.append(again)
        await again.start()
        return again

    @property
    def bot(self) -> BotProcess:
        return self.bots[-1]

    def all_logs(self) -> str:
        seen: set[Path] = set()
        texts = []
        for bot in self.bots:
            if bot.log_path not in seen:
                seen.add(bot.log_path)
                texts.append(bot.log_text())
        return "\n".join(texts)

    # -- the moves people make ------------------------------------------------------------------

    async def send(self, request: SignedRequest, bot: BotProcess | None = None) -> tuple[int, str]:
        return await self.requests.deliver((bot or self.bot).events_url, request, self.http)

    async def post_raw(
        self, body: bytes, headers: Mapping[str, str], bot: BotProcess | None = None
    ) -> tuple[int, str]:
        async with self.http.post((bot or self.bot).events_url, data=body, headers=dict(headers)) as r:
            return r.status, await r.text()

    async def open_modal(self, user_id: str, text: str = "", bot: BotProcess | None = None) -> dict[str, Any]:
        since = self.slack.call_count
        # This command's own trigger: a views.open that an earlier click caused may land meanwhile.
        trigger = self.slack.new_trigger_id(user_id)
        command = self.requests.slash_command(ids.COMMAND, text, user_id=user_id, trigger_id=trigger)
        status, _ = await self.send(command, bot)
        assert status == 200, status
        call = await self.slack.wait_for(
            "views.open", lambda c: c.args.get("trigger_id") == trigger, 10.0, since=since
        )
        view = call.args["view"]
        parsed = json.loads(view) if isinstance(view, str) else dict(view)
        # The fake stored it under an id; submissions echo that stored view.
        stored = [v for v in self.slack.open_views(user_id) if v.callback_id == parsed.get("callback_id")]
        return {"id": stored[-1].id} if stored else parsed

    async def submit(
        self,
        user_id: str,
        servers: list[str],
        *,
        target: str = "e2e-aksk",
        reason: str = "OPS-1 lost root password",
        mode: str = "shared",
        reboot: str = "none",
        bot: BotProcess | None = None,
    ) -> tuple[int, str]:
        view = await self.open_modal(user_id, bot=bot)
        values = submission_values(
            target=target, paste="\n".join(servers), reason=reason, mode=mode, reboot=reboot
        )
        return await self.send(self.requests.view_submission(user_id=user_id, view=view, values=values), bot)

    async def card(self, request_id: int, timeout: float = 15.0) -> StoredMessage:  # noqa: ASYNC109
        """The approval card of a request as it stands now (the bot edits it in place)."""
        await self.slack.wait_for(
            "chat.postMessage",
            lambda c: (
                c.args.get("channel") == APPROVERS_CHANNEL
                and not c.args.get("thread_ts")
                and f"#{request_id} " in str(c.args.get("text"))
            ),
            timeout,
        )
        for message in self.slack.messages(APPROVERS_CHANNEL):
            if message.thread_ts is None and f"#{request_id} " in message.text:
                return message
        raise LookupError(f"no card for #{request_id}")

    async def new_request(
        self, user_id: str = REQUESTER, servers: list[str] | None = None, **kwargs: Any
    ) -> tuple[int, StoredMessage]:
        """Submits and waits for the card; returns the request number and the card."""
        since = self.slack.call_count
        status, answer = await self.submit(user_id, servers or self.resettable(2), **kwargs)
        assert status == 200, (status, answer)
        assert not answer.strip(), answer
        call = await self.slack.wait_for(
            "chat.postMessage",
            lambda c: c.args.get("channel") == APPROVERS_CHANNEL and not c.args.get("thread_ts"),
            20.0,
            since=since,
        )
        match = re.search(r"#(\d+)", str(call.args.get("text")))
        assert match, call.args
        request_id = int(match.group(1))
        # A snapshot, as an approver's Slack window shows it: the bot later edits the card in place.
        return request_id, copy.deepcopy(await self.card(request_id))

    async def click(
        self,
        user_id: str,
        action_id: str,
        message: StoredMessage,
        *,
        value: str | None = None,
        bot: BotProcess | None = None,
    ) -> tuple[int, str]:
        request = self.requests.block_actions(
            user_id=user_id,
            action_id=action_id,
            value=value if value is not None else button_value(message.blocks, action_id),
            channel_id=message.channel,
            message_ts=message.ts,
            message=message.as_api(),
        )
        return await self.send(request, bot)

    async def deny(
        self, user_id: str, request_id: int, reason: str, bot: BotProcess | None = None
    ) -> tuple[int, str]:
        """Submits the deny-reason modal (as if the Deny click had opened it)."""
        view = {"callback_id": ids.DENY_MODAL, "private_metadata": str(request_id)}
        values = {
            ids.DENY_REASON_BLOCK: {ids.DENY_REASON_ACTION: {"type": "plain_text_input", "value": reason}}
        }
        return await self.send(self.requests.view_submission(user_id=user_id, view=view, values=values), bot)

    def dm_messages(self, user_id: str = REQUESTER) -> list[StoredMessage]:
        return self.slack.messages(self.slack.dm_channel(user_id))

    def dm_message(self, request_id: int, text_start: str, user_id: str = REQUESTER) -> StoredMessage:
        for message in reversed(self.dm_messages(user_id)):
            if message.text.startswith(text_start) and f"#{request_id}" in message.text:
                return message
        raise LookupError(f"no DM starting {text_start!r} for #{request_id}")

    async def wait_final(self, request_id: int, timeout: float = 30.0) -> SlackCall:  # noqa: ASYNC109
        """The requester's 'is finished' DM."""
        return await self.slack.wait_for(
            "chat.postMessage",
            lambda c: f"Your request #{request_id} is finished" in str(c.args.get("text")),
            timeout,
        )

    async def approve_and_collect(
        self,
        request_id: int,
        card: StoredMessage,
        approvers: Iterable[str] = (APPROVERS[0],),
        requester: str = REQUESTER,
    ) -> Flow:
        """Approves, waits for delivery, reveals once; returns the passwords seen in both places."""
        for approver in approvers:
            status, _ = await self.click(approver, ids.APPROVE_ACTION, card)
            assert status == 200
            await self.slack.wait_for(
                "chat.postEphemeral",
                lambda c, a=approver: c.args.get("user") == a and f"#{request_id}" in str(c.args.get("text")),
                15.0,
            )
        offer = await self.slack.wait_for(
            "chat.postMessage",
            lambda c: f"request #{request_id} is ready to reveal" in str(c.args.get("text")),
            60.0,
        )
        ephemeral = next(
            c
            for c in self.slack.calls("chat.postEphemeral")
            if f"New password(s) for request #{request_id}" in str(c.args.get("text"))
        )
        ephemeral_blocks = ephemeral.args["blocks"]
        if isinstance(ephemeral_blocks, str):
            ephemeral_blocks = json.loads(ephemeral_blocks)
        since = self.slack.call_count
        offer_message = self.slack.message(str(offer.args["channel"]), self._ts_of(offer))
        status, _ = await self.click(requester, ids.REVEAL_ACTION, offer_message)
        assert status == 200
        modal = await self.slack.wait_for("views.open", None, 10.0, since=since)
        view = modal.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view.get("callback_id") == ids.REVEAL_MODAL, view
        return Flow(
            request_id, passwords_in_blocks(ephemeral_blocks), passwords_in_blocks(view["blocks"]), []
        )

    def _ts_of(self, call: SlackCall) -> str:
        channel = str(call.args["channel"])
        for message in reversed(self.slack.messages(channel)):
            if message.text == call.args.get("text") or "ready to reveal" in message.text:
                return message.ts
        raise LookupError("message not stored")

    # -- the fleet ------------------------------------------------------------------------------

    def resettable(self, n: int, *, skip: int = 0, os_type: str | None = None) -> list[str]:
        found = [
            s.name
            for s in self.sim.fleet
            if s.plugin_installed
            and not s.locked
            and s.status in ("ACTIVE", "SHUTOFF")
            and (os_type is None or s.os_type == os_type)
        ]
        return found[skip : skip + n]

    def server_id(self, name: str) -> str:
        server = self.sim.fleet.by_name(name)
        assert server is not None
        return server.id

    def reset_calls(self) -> dict[str, int]:
        """How many real (dry_run false) resets each server id received, batch and single."""
        counts: dict[str, int] = {}
        for call in self.sim.calls:
            if call.method != "PUT" or call.status >= 300:
                continue
            if call.path.endswith("/os-reset-passwords"):
                body = call.body if isinstance(call.body, dict) else {}
                if body.get("dry_run"):
                    continue
                for s in body.get("servers") or []:
                    counts[s["id"]] = counts.get(s["id"], 0) + 1
            elif call.path.endswith("/os-reset-password"):
                server_id = call.path.rsplit("/", 2)[-2]
                counts[server_id] = counts.get(server_id, 0) + 1
        return counts


def write_targets(path: Path, sim_url: str, *, ttl: str = "1h") -> None:
    path.write_text(
        TARGETS_YAML.format(
            project_id=DEMO_PROJECT_ID,
            sim_url=sim_url,
            approvers=", ".join(APPROVERS),
            channel=APPROVERS_CHANNEL,
            ttl=ttl,
            domain=DEMO_USER.domain,
            requester=REQUESTER,
            other_requester=OTHER_REQUESTER,
        )
    )


def fake_slack_users() -> list[SlackUser]:
    users = [
        SlackUser(REQUESTER, "alice", "Alice (on call)"),
        SlackUser(OTHER_REQUESTER, "dave", "Dave (on call)"),
        SlackUser(OUTSIDER, "mallory", "Mallory"),
    ]
    users += [SlackUser(a, f"approver{i}", f"Approver {i}") for i, a in enumerate(APPROVERS, 1)]
    return users


@contextlib.asynccontextmanager
async def make_stack(
    tmp: Path,
    *,
    database_url: str | None = None,
    fleet: Fleet | None = None,
    servers: int = 40,
    latency_s: float = 0.0,
    ttl: str = "1h",
    extra_env: Mapping[str, str] | None = None,
    secret_key: str | None = None,
) -> AsyncIterator[Stack]:
    sim = Simulator(fleet or Fleet.generate(servers, seed=11), latency_s=latency_s)
    await sim.start()
    slack = FakeSlack(users=fake_slack_users(), channels={APPROVERS_CHANNEL: "ecs-approvals"})
    await slack.start()
    targets = tmp / "targets.yml"
    write_targets(targets, sim.url, ttl=ttl)
    http = aiohttp.ClientSession()
    stack = Stack(
        sim=sim,
        slack=slack,
        tmp=tmp,
        requests=SlackRequests(SIGNING_SECRET, slack=slack),
        http=http,
        targets_path=targets,
        secret_key=secret_key or Fernet.generate_key().decode(),
        database_url=database_url or f"sqlite+aiosqlite:///{tmp / 'bot.sqlite3'}",
        extra_env=dict(extra_env or {}),
    )
    try:
        yield stack
    finally:
        for bot in stack.bots:
            await bot.stop()
        await http.close()
        await slack.stop()
        await sim.stop()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack with one bot subprocess on SQLite, already serving."""
    async with make_stack(tmp_path) as s:
        await s.start_bot()
        yield s
