"""End-to-end harness: the real bot as a subprocess (`python -m bot run`), driven over real HTTP.

The test process owns the fakes: an ECS/IAM `Simulator` and a `FakeSlack`. Each bot subprocess reads
only its environment (the same contract an operator uses), logs at DEBUG to a file the tests read back,
and is reached on a free port. `Stack` holds all of it; the moves people make in Slack are
`bot.demo.People`'s, aimed at one of its bots.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.demo import LocalSlack, People
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import (
    FAKE_BOT_TOKEN,
    FakeSlack,
    SignedRequest,
    SlackCall,
    SlackRequests,
    StoredMessage,
)
from bot.slack import ids
from support.e2e_cast import (
    APPROVERS,
    APPROVERS_CHANNEL,
    CLOUD_SECRETS,
    OTHER_REQUESTER,
    OUTSIDER,
    REQUESTER,
    SIGNING_SECRET,
    fake_slack_users,
    write_targets,
)
from support.processes import BotProcess, free_port
from support.shown import passwords_in_blocks

# The cast is imported from here by the end-to-end tests.
__all__ = [
    "APPROVERS",
    "APPROVERS_CHANNEL",
    "CLOUD_SECRETS",
    "OTHER_REQUESTER",
    "OUTSIDER",
    "REQUESTER",
    "SIGNING_SECRET",
    "Flow",
    "Stack",
    "make_stack",
    "passwords_in_blocks",
    "stack",
]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Flow:
    """What one request left behind: its number and the password(s) the requester received."""

    request_id: int
    ephemeral_passwords: list[str]
    revealed_passwords: list[str]
    servers: list[str]


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

    # -- the moves people make: bot.demo's People, at one bot ------------------------------------

    def people(self, bot: BotProcess | None = None) -> People:
        """People's moves against `bot` (the latest started when None)."""
        return People(
            (bot or self.bot).events_url,
            self.requests,
            self.http,
            LocalSlack(self.slack),
            approvers_channel=APPROVERS_CHANNEL,
        )

    async def send(self, request: SignedRequest, bot: BotProcess | None = None) -> tuple[int, str]:
        return await self.people(bot).send(request)

    async def post_raw(
        self, body: bytes, headers: Mapping[str, str], bot: BotProcess | None = None
    ) -> tuple[int, str]:
        async with self.http.post((bot or self.bot).events_url, data=body, headers=dict(headers)) as r:
            return r.status, await r.text()

    async def open_modal(self, user_id: str, text: str = "", bot: BotProcess | None = None) -> dict[str, Any]:
        return await self.people(bot).open_modal(user_id, text)

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
        """Opens the form and submits it."""
        people = self.people(bot)
        view = await people.open_modal(user_id)
        return await people.submit(
            user_id, view, target=target, servers=servers, reason=reason, mode=mode, reboot=reboot
        )

    async def card(self, request_id: int, timeout: float = 15.0) -> StoredMessage:  # noqa: ASYNC109
        """The approval card of a request as it stands now (the bot edits it in place)."""
        return await self.people().card(request_id, timeout)

    async def new_request(
        self,
        user_id: str = REQUESTER,
        servers: list[str] | None = None,
        *,
        target: str = "e2e-aksk",
        reason: str = "OPS-1 lost root password",
        mode: str = "shared",
        reboot: str = "none",
        bot: BotProcess | None = None,
        approvable: bool = True,
    ) -> tuple[int, StoredMessage]:
        """Submits and waits for the card; returns the request number and a snapshot of the card, by
        default once pre-flight has put its Approve button on it (`approvable=False`: as first posted)."""
        return await self.people(bot).new_request(
            user_id,
            servers or self.resettable(2),
            target=target,
            reason=reason,
            mode=mode,
            reboot=reboot,
            approvable=approvable,
        )

    async def click(
        self,
        user_id: str,
        action_id: str,
        message: StoredMessage,
        *,
        value: str | None = None,
        bot: BotProcess | None = None,
    ) -> tuple[int, str]:
        return await self.people(bot).click(user_id, action_id, message, value=value)

    async def deny(
        self, user_id: str, request_id: int, reason: str, bot: BotProcess | None = None
    ) -> tuple[int, str]:
        """Submits the deny-reason modal (as if the Deny click had opened it)."""
        return await self.people(bot).deny(user_id, request_id, reason)

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
