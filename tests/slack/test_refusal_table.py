"""Issue 10.11, table-driven through the whole bot: every Slack method the flow calls answers each error of
its class once (tests/support/slack_errors.py), and the whole request runs over real HTTP.

For each case the fault is armed at the start of the step whose call it hits (the form, the submission,
the approval with its execution and delivery, the Reveal), so it lands on that call and nowhere else; a
person who was told to try again does so once. Each case checks that the bot did not crash (no failed
listener or background task, it served the whole flow), that the right person was told (the requester,
the approver, or the operator through the refusal metric, an ERROR line and /healthz), and that no
password was lost (the requester reveals it and it is the one the cloud set).

One World serves every case (a new request each time; faults are spent or cleared in between), so the
table costs one start-up, not sixty. The table's timeouts hold a call 60 s, past the bot's client
timeout: they are left out here (named in `NOT_HERE`) and classified in test_refusal_kinds.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    GOOD_REASON,
    block_texts,
    card,
    card_says,
    card_where,
    passwords_by_server,
    resettable_servers,
    server_id,
    status_of,
    targets_file,
    view_json,
)
from support.polling import eventually
from support.slack_errors import ALL_CASES, TIMEOUT, ErrorClass, SlackErrorCase

from bot.demo import World
from bot.domain import RequestStatus
from bot.metrics import REGISTRY
from bot.simulator.slack import SlackCall, SlackUsergroup
from bot.slack import ids
from bot.slack.refusals import RefusalKind

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one loop for the shared World and every case

ONCALL, LEADS = "S0ONCALL", "S0LEADS"
APPROVER = APPROVERS[0]
WITHIN_S = 20.0  # for what the sweeper (every second in a World) sends when Slack takes it again
KINDS = {
    ErrorClass.RETRY_LATER: RefusalKind.RETRY_LATER,
    ErrorClass.OPERATOR_MUST_FIX: RefusalKind.OPERATOR_MUST_FIX,
    ErrorClass.PERSON_UNREACHABLE: RefusalKind.UNREACHABLE,
    ErrorClass.TRIGGER_EXPIRED: RefusalKind.TRIGGER_EXPIRED,
}
# Methods of the table the flow never calls, and why.
NOT_HERE = {
    "auth.test": "Bolt's authorization asks once per process (tests/startup/test_tokens.py: its refusals)",
    "usergroups.list": "read once at start-up to pin the handles (a refusal stops the start)",
    "conversations.info": "doctor's and start-up's channel check (tests/test_doctor.py, tests/startup/)",
    "users.info": "doctor's and start-up's people check (tests/test_doctor.py, tests/startup/)",
    "views.publish": "the Home tab, off the request's flow (tests/slack/test_home.py: a refused publish)",
}


@dataclass(frozen=True)
class Site:
    """One call of the flow: its step, its method, and the channel it writes to ("dm", "approvers")."""

    step: str
    method: str
    where: str | None
    what: str


SITES = (
    Site("command", "views.open", None, "form"),
    Site("submit", "usergroups.users.list", None, "requester-check"),
    Site("submit", "conversations.open", None, "dm"),
    Site("submit", "chat.postMessage", "dm", "received"),
    Site("submit", "chat.postMessage", "approvers", "card"),
    Site("submit", "chat.update", "dm", "status"),
    Site("approve", "usergroups.users.list", None, "approver-check"),
    Site("approve", "chat.postEphemeral", "approvers", "approver-answer"),
    Site("approve", "chat.update", "approvers", "card"),
    Site("approve", "chat.postMessage", "approvers", "thread"),
    Site("approve", "chat.update", "dm", "status"),
    Site("approve", "chat.postEphemeral", "dm", "password"),
    Site("approve", "chat.postMessage", "dm", "reveal-offer"),
    Site("reveal", "views.open", None, "reveal"),
    Site("reveal", "chat.update", "dm", "revealed"),
    # Only used when the form cannot open: armed together with views.open expired_trigger_id.
    Site("command", "response_url", None, "form-refused-answer"),
)


def _cases() -> list[tuple[Site, SlackErrorCase]]:
    """Each error of each method once, on the method's sites in turn (every site meets every class its
    method has, as far as the errors go round)."""
    chosen = []
    for method in sorted({s.method for s in SITES}):
        sites = [s for s in SITES if s.method == method]
        errors = [c for c in ALL_CASES if c.method == method and c.error != TIMEOUT]
        errors.sort(key=lambda c: (list(ErrorClass).index(c.kind), c.error))
        # Deal the errors round-robin within each class, so each site sees each class.
        by_class: dict[ErrorClass, list[SlackErrorCase]] = {}
        for case in errors:
            by_class.setdefault(case.kind, []).append(case)
        for cases in by_class.values():
            for n, case in enumerate(cases):
                chosen.append((sites[n % len(sites)], case))
    return chosen


CASES = _cases()


async def test_the_table_is_covered() -> None:
    """Every method of the table is either driven here or named in NOT_HERE; every error is used."""
    methods = {c.method for c in ALL_CASES}
    assert methods == {s.method for s in SITES} | NOT_HERE.keys()
    driven = {(case.method, case.error) for _, case in CASES}
    wanted = {(c.method, c.error) for c in ALL_CASES if c.method not in NOT_HERE and c.error != TIMEOUT}
    assert driven == wanted
    assert {s for s, _ in CASES} == set(SITES), "every site meets at least one error"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """demo-aksk with user groups as requesters and approvers, so decisions read them from Slack every
    time (BOT_MEMBERSHIP_MAX_AGE 1 ms); limits raised for a person who submits sixty requests."""
    folder: Path = tmp_path_factory.mktemp("refusal-table")
    config = targets_file(folder, {"demo-aksk": {"requesters": '["@oncall"]', "approvers": '["@sre-leads"]'}})
    started = await World.start(
        env={
            "BOT_CONFIG": str(config),
            "BOT_MEMBERSHIP_MAX_AGE": "0.001",
            "BOT_MAX_SUBMISSIONS_PER_MINUTE": "1000",
            "BOT_MAX_OPEN_REQUESTS": "100",
        },
        usergroups=[
            SlackUsergroup(ONCALL, "oncall", []),
            SlackUsergroup(LEADS, "sre-leads", [APPROVER]),
        ],
    )
    yield started
    await started.close()


def refusals(method: str, error: str, kind: str) -> float:
    labels = {"method": method, "error": error, "kind": kind}
    return REGISTRY.get_sample_value("ecs_reset_slack_refusals_total", labels) or 0.0


def told(world: World, user: str, since: int) -> list[str]:
    """What `user` was shown since call `since`: ephemerals, response_url answers, DMs, modals."""
    dm = world.slack.dm_channel(user)
    texts = []
    for call in world.slack.calls()[since:]:
        if not call.ok:
            continue
        args = call.args
        if call.method == "chat.postEphemeral" and args.get("user") == user:
            texts.append(str(args.get("text")))
        elif call.method == "response_url":  # to whoever acted in the step under way
            texts.append(str(args.get("text")))
        elif call.method == "chat.postMessage" and args.get("channel") == dm:
            texts.append(str(args.get("text")))
        elif call.method == "views.open" and user != APPROVER:
            texts.append(json.dumps(view_json(call)))
    return texts


class Flow:
    """One request from the slash command to the revealed password, as the people would do it: each step
    is tried again once when the person was told it did not happen."""

    def __init__(self, world: World, requester: str) -> None:
        self.world = world
        self.requester = requester
        self.slack = world.slack
        self.retried: list[str] = []

    async def open_form(self) -> dict[str, Any]:
        for attempt in range(2):
            since = self.slack.call_count
            trigger = self.slack.new_trigger_id(self.requester)
            command = self.world.requests.slash_command(
                ids.COMMAND, "", user_id=self.requester, trigger_id=trigger
            )
            status, _ = await self.world.send(command)
            assert status == 200

            def opened_or_told(s: int = since, t: str = trigger) -> list[Any]:
                opened = [
                    c
                    for c in self.slack.calls()[s:]
                    if c.method == "views.open" and c.ok and c.args.get("trigger_id") == t
                ]
                return opened or [a for a in told(self.world, self.requester, s) if "again" in a]

            found = await eventually(
                opened_or_told, WITHIN_S, "the form, or the requester told it did not open"
            )
            if (
                isinstance(found[0], SlackCall)
                and view_json(found[0]).get("callback_id") == ids.REQUEST_MODAL
            ):
                return self.slack.view_payload(self.slack.open_views(self.requester)[-1].id)
            assert attempt == 0, "the form did not open twice"
            if isinstance(found[0], SlackCall):  # a notice instead of the form: what it says is the telling
                self.slack.close_view(self.requester)
            self.retried.append("command")
        raise AssertionError("unreachable")

    async def submit(self, server: str) -> int:
        view = await self.open_form()
        newest = await self.world.runtime.store.list_requests(requester_id=self.requester, limit=1)
        before = newest[0].id if newest else 0
        for attempt in range(2):
            status, answer = await self.world.submit(
                self.requester, view, target="demo-aksk", servers=[server], reason=GOOD_REASON
            )
            assert status == 200, answer
            if not answer.strip():
                break
            assert attempt == 0, f"refused twice: {answer}"
            assert "errors" in json.loads(answer), answer  # told on the form, nothing created
            self.retried.append("submit")
        request = await self.world.runtime.store.list_requests(requester_id=self.requester, limit=1)
        assert request[0].id > before
        return request[0].id

    async def approve(self, request_id: int) -> None:
        for attempt in range(2):
            since = self.slack.call_count
            await self.world.click(APPROVER, ids.APPROVE_ACTION, card(self.world, request_id))
            answer = await eventually(
                lambda s=since: told(self.world, APPROVER, s), WITHIN_S, "an answer to the approver"
            )
            if await status_of(self.world, request_id) != RequestStatus.PENDING:
                assert any(f"Request #{request_id} is running" in a or "Approved" in a for a in answer), (
                    answer
                )
                return
            assert attempt == 0, f"approval refused twice: {answer}"
            self.retried.append("approve")

    async def reveal(self, request_id: int) -> dict[str, str]:
        dm = self.slack.dm_channel(self.requester)
        text = f"Your new password for request #{request_id} "
        offer = await eventually(
            lambda: next((m for m in reversed(self.slack.messages(dm)) if m.text.startswith(text)), None),
            30.0,
            "the Reveal offer",
        )
        for attempt in range(2):
            since = self.slack.call_count
            await self.world.click(self.requester, ids.REVEAL_ACTION, offer)

            def shown_or_told(s: int = since) -> list[Any]:
                shown = [c for c in self.slack.calls()[s:] if c.method == "views.open" and c.ok]
                told_again = [a for a in told(self.world, self.requester, s) if "again" in a]
                return shown or told_again

            found = await eventually(
                shown_or_told, WITHIN_S, "the password shown, or the requester told to click again"
            )
            if isinstance(found[0], SlackCall):
                return passwords_by_server(view_json(found[0])["blocks"])
            assert attempt == 0, "the reveal did not open twice"
            self.retried.append("reveal")
        raise AssertionError("unreachable")


def arm(world: World, site: Site, case: SlackErrorCase, requester: str) -> list[Any]:
    """Makes the site's call answer the case's error once; returns the faults to check were spent."""
    where = {"dm": world.slack.dm_channel(requester), "approvers": APPROVERS_CHANNEL, None: None}
    channel = where[site.where]
    if site.method == "response_url":  # the answer to a form that cannot open
        return [
            world.slack.fail("views.open", "expired_trigger_id"),
            case.script(world.slack, times=1),
        ]
    return [case.script(world.slack, times=1, channel=channel)]


@pytest.mark.parametrize(
    ("site", "case"), CASES, ids=[f"{s.step}-{s.what}-{c.method}-{c.error}" for s, c in CASES]
)
async def test_one_refusal_in_the_flow(
    world: World, site: Site, case: SlackErrorCase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    world.slack.clear_faults()
    world.slack.restore_token()
    kind = KINDS[case.kind]
    counted = refusals(case.method, case.error, kind)
    # A new person each time (the bot keeps the DM it opened with a person: conversations.open is called
    # once per person), in the requesters' group.
    requester = f"UREQ{len(world.slack.users):04d}"
    world.slack.add_user(requester, requester.lower())
    world.slack.usergroups[ONCALL].members.append(requester)
    flow = Flow(world, requester)
    server = resettable_servers(world, 1)[0]
    faults: list[Any] = []

    if site.step == "command":
        faults = arm(world, site, case, requester)
    request_id = await flow.submit(server) if site.step != "submit" else None
    if site.step == "submit":
        faults = arm(world, site, case, requester)
        request_id = await flow.submit(server)
    assert request_id is not None
    await world.card_for(request_id, timeout=30.0)
    if site.step == "approve":
        faults = arm(world, site, case, requester)
    await flow.approve(request_id)
    if site.step == "reveal":
        faults = arm(world, site, case, requester)
    passwords = await flow.reveal(request_id)

    # No password lost: the one the requester reveals is the one the cloud set.
    assert world.sim.fleet.password_matches(server_id(world, server), passwords[server])
    # Every notice landed in the end (refused ones retried by the sweeper).
    await card_where(world, request_id, card_says("*Done*"), 30.0)
    dm = world.slack.dm_channel(requester)
    await eventually(
        lambda: any(f"Your request #{request_id} is finished" in m.text for m in world.slack.messages(dm)),
        WITHIN_S,
        "the requester's 'finished' DM",
    )
    await eventually(
        lambda: any(
            "server(s) reset" in m.text
            for m in world.slack.replies(APPROVERS_CHANNEL, card(world, request_id).ts)
        ),
        WITHIN_S,
        "the outcome in the card's thread",
    )
    # The fault answered once: it hit the call it was meant for (some come after the steps above: the
    # reveal offer is marked revealed once the password was shown), and nothing later.
    await eventually(lambda: all(f.spent for f in faults), WITHIN_S, "the armed fault to answer its call")

    # The right person was told.
    if case.kind != ErrorClass.RETRY_LATER and case.method != "response_url":
        assert refusals(case.method, case.error, kind) > counted, "the operator's metric did not move"
    if case.kind == ErrorClass.OPERATOR_MUST_FIX and case.error in (
        "not_in_channel",
        "channel_not_found",
        "is_archived",
    ):
        assert any("is unusable" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
        if site == Site("submit", "chat.postMessage", "approvers", "card"):
            assert any("Approvers cannot see your request" in t for t in told(world, requester, 0))
    if case.error in ("token_revoked", "invalid_auth", "account_inactive"):
        assert any(
            "Slack refuses SLACK_BOT_TOKEN" in r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR
        )
    if site.step == "command" or site.what == "reveal":
        if case.kind in (ErrorClass.TRIGGER_EXPIRED, ErrorClass.OPERATOR_MUST_FIX):
            assert flow.retried, "the person was told and tried again"

    # /healthz is 200 again once Slack takes the calls (a refused token is asked again by itself).
    async def healthy() -> bool:
        async with world.http.get(f"{world.bot_url}/healthz") as response:
            return response.status == 200

    await eventually(healthy, WITHIN_S, "/healthz 200 again", interval=0.2)
    # The bot did not crash: no listener or background task failed.
    crashed = [
        r.getMessage() for r in caplog.records if r.exc_info and r.name in ("bot.app", "bot.workflow.tasks")
    ]
    assert not crashed, crashed
    await world.runtime.tasks.idle()
    assert block_texts(card(world, request_id).blocks)
