"""Two bot replicas on one PostgreSQL database, hammered with concurrent clicks from both sides.

Exactly-once is the store's compare-and-set: whichever replica a click lands on, each approved
request is claimed by one worker, each server is reset once, each request ends in one final state,
and the audit trail says so once.
"""

from __future__ import annotations

import asyncio
import collections
import json
from pathlib import Path

import pytest
from support.harness import APPROVERS, REQUESTER, Stack, make_stack
from support.pg import PgDatabase
from support.polling import eventually

from bot.slack import ids

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TERMINAL_EVENTS = ("finished", "denied", "cancelled", "expired")
FINAL = {"succeeded", "partly_failed", "failed", "denied", "cancelled", "expired"}


async def test_concurrent_clicks_on_two_replicas_execute_once(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    # One requester makes every request of the exercise: the per-requester limits are not what it tests.
    unlimited = {"BOT_MAX_OPEN_REQUESTS": "100", "BOT_MAX_SUBMISSIONS_PER_MINUTE": "100"}
    async with make_stack(tmp_path, database_url=pg_database.url, servers=60, extra_env=unlimited) as stack:
        replicas = await asyncio.gather(stack.start_bot(), stack.start_bot())
        await _exercise(stack, replicas, pg_database)


async def _exercise(stack: Stack, replicas: list, db: PgDatabase) -> None:  # type: ignore[type-arg]
    a, b = replicas
    # Requests are submitted alternately on either replica.
    plan = {
        "approve50": stack.resettable(4, skip=0),
        "approve10a": stack.resettable(3, skip=4),
        "approve10b": stack.resettable(3, skip=7),
        "deny": stack.resettable(2, skip=10),
        "cancel": stack.resettable(2, skip=12),
        "race": stack.resettable(2, skip=14),  # cancel and approve at once: one of them wins
    }
    made: dict[str, tuple[int, object]] = {}
    for n, (key, names) in enumerate(plan.items()):
        made[key] = await stack.new_request(REQUESTER, names, bot=replicas[n % 2])
    ids_of = {key: rid for key, (rid, _) in made.items()}

    clicks = []
    # 50 distinct approvers on one request, alternating replicas, plus 10 each on two more.
    for i, approver in enumerate(APPROVERS[:50]):
        clicks.append(stack.click(approver, ids.APPROVE_ACTION, made["approve50"][1], bot=replicas[i % 2]))
    for key in ("approve10a", "approve10b"):
        for i, approver in enumerate(APPROVERS[50:60]):
            clicks.append(stack.click(approver, ids.APPROVE_ACTION, made[key][1], bot=replicas[i % 2]))
    # Double (and triple) deny submissions, on both replicas.
    for i, approver in enumerate((APPROVERS[0], APPROVERS[0], APPROVERS[1])):
        clicks.append(stack.deny(approver, ids_of["deny"], "not during the freeze", bot=replicas[i % 2]))
    # The requester cancels twice from the DM, once on each replica.
    cancel_dm = await _dm_with_cancel(stack, ids_of["cancel"])
    race_dm = await _dm_with_cancel(stack, ids_of["race"])
    clicks += [stack.click(REQUESTER, ids.CANCEL_ACTION, cancel_dm, bot=r) for r in (a, b)]
    clicks += [stack.click(REQUESTER, ids.CANCEL_ACTION, race_dm, bot=a)]
    clicks += [stack.click(APPROVERS[2], ids.APPROVE_ACTION, made["race"][1], bot=b)]
    answers = await asyncio.gather(*clicks)
    assert all(status == 200 for status, _ in answers), answers

    # Everything settles.
    async def settled() -> dict[int, str] | None:
        rows = await db.query("SELECT id, status FROM requests")
        statuses = {r["id"]: r["status"] for r in rows}
        return statuses if all(s in FINAL for s in statuses.values()) else None

    statuses = await eventually(settled, 45, "every request in a final status", interval=0.2)

    assert statuses[ids_of["approve50"]] == "succeeded"
    assert statuses[ids_of["approve10a"]] == "succeeded"
    assert statuses[ids_of["approve10b"]] == "succeeded"
    assert statuses[ids_of["deny"]] == "denied"
    assert statuses[ids_of["cancel"]] == "cancelled"
    assert statuses[ids_of["race"]] in ("cancelled", "succeeded")
    executed = [k for k in plan if statuses[ids_of[k]] == "succeeded"]
    # The final status is written before the delivery and its audit event: wait for the deliveries.
    for key in executed:
        await stack.slack.wait_for(
            "chat.postMessage",
            lambda c, k=key: f"request #{ids_of[k]} is ready to reveal" in str(c.args.get("text")),
            15,
        )

    # A settled request's terminal audit row is group-committed after its status: wait for each one.
    # So is the `delivered` row, after the delivery's own writes: wait for those of the executed ones too.
    async def ended() -> bool:
        rows = await db.query("SELECT request_id, event FROM audit_events")
        ends = {r["request_id"] for r in rows if r["event"] in TERMINAL_EVENTS}
        delivered = {r["request_id"] for r in rows if r["event"] == "delivered"}
        return {ids_of[k] for k in plan} <= ends and {ids_of[k] for k in executed} <= delivered

    await eventually(ended, 15, "every request's terminal audit row and every delivery's", interval=0.1)

    # Exactly one real reset per server of an executed request, none for the others.
    resets = stack.reset_calls()
    expected = {stack.server_id(n): 1 for k in executed for n in plan[k]}
    assert resets == expected

    # The audit trail: one claim, one finish, one delivery per executed request; one end for the others.
    rows = await db.query("SELECT request_id, event, actor FROM audit_events ORDER BY id")
    events = collections.Counter((r["request_id"], r["event"]) for r in rows)
    for key in plan:
        rid = ids_of[key]
        if key in executed:
            assert events[(rid, "fully_approved")] == 1, key
            assert events[(rid, "executing")] == 1, key
            assert events[(rid, "finished")] == 1, key
            assert events[(rid, "delivered")] == 1, key
        else:
            assert events[(rid, "finished")] == 0, key
            assert events[(rid, "executing")] == 0, key
        ends = sum(n for (r, e), n in events.items() if r == rid and e in TERMINAL_EVENTS)
        assert ends == 1, (key, events)
    # Every recorded approval has its audit event. Clicks racing the first approval may each be
    # recorded (the status check and the insert are not one compare-and-set); they change nothing.
    decisions = await db.query(
        "SELECT request_id, count(*) AS n FROM decisions WHERE decision = 'approve' GROUP BY request_id"
    )
    approvals = {r["request_id"]: r["n"] for r in decisions}
    for key in plan:
        assert approvals.get(ids_of[key], 0) == events[(ids_of[key], "approved")], key
    # The requester got one password offer per executed request.
    for key in executed:
        assert approvals[ids_of[key]] >= 1, (key, approvals)
        offers = [
            c
            for c in stack.slack.calls("chat.postMessage")
            if c.ok and f"request #{ids_of[key]} is ready to reveal" in str(c.args.get("text"))
        ]
        assert len(offers) == 1, key

    # Every losing clicker was told something (an ephemeral answer), nobody got a server error.
    def told() -> set[object]:
        return {c.args.get("user") for c in stack.slack.calls("chat.postEphemeral")}

    await eventually(lambda: set(APPROVERS[:50]) <= told(), 15, "an answer to every clicker")
    for bot in replicas:
        assert bot.running, bot.log_tail()
        assert "Traceback" not in bot.log_text(), bot.log_tail(80)


async def _dm_with_cancel(stack: Stack, request_id: int):  # type: ignore[no-untyped-def]
    def found():  # type: ignore[no-untyped-def]
        for message in stack.dm_messages(REQUESTER):
            if f"*#{request_id}*" in json.dumps(message.blocks) and ids.CANCEL_ACTION in json.dumps(
                message.blocks
            ):
                return message
        return None

    return await eventually(found, 10, f"a DM with a Cancel button for #{request_id}")
