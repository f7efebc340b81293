"""`kill -9` in the middle of an execution, then a restart: the request finishes honestly.

The killed process sealed the passwords and marked each server `sent` before its call (at most a bounded
few ahead of it), so the new process (after the short lease of the dead one runs out) resumes: servers
marked `sent` become `unknown` and are never repeated, servers never attempted are reset with the sealed
password, the requester is told the bot restarted, and a request still waiting for approval survives the
crash.
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

import pytest
from support.harness import APPROVERS, REQUESTER, make_stack
from support.polling import eventually
from support.shown import passwords_by_server

from bot.slack import ids

pytestmark = pytest.mark.e2e

SERVERS = 40


async def test_kill_9_during_execution_then_restart(tmp_path: Path) -> None:
    async with make_stack(
        tmp_path,
        servers=80,
        extra_env={"BOT_ECS_CONCURRENCY": "2", "BOT_EXECUTION_LEASE": "2s", "BOT_SWEEP_INTERVAL": "0.5s"},
    ) as stack:
        bot = await stack.start_bot()
        names = stack.resettable(SERVERS)
        ids_by_name = {n: stack.server_id(n) for n in names}
        request_id, card = await stack.new_request(REQUESTER, names, mode="per_server")
        pending_id, pending_card = await stack.new_request(REQUESTER, stack.resettable(2, skip=SERVERS))

        # Slow cloud: 40 per-server calls, 2 at a time, 0.25 s each: about 5 s of execution.
        stack.sim.latency_s = 0.25
        status, _ = await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
        assert status == 200
        await eventually(lambda: 4 <= sum(stack.reset_calls().values()), 30, "the first resets")
        bot.kill9()
        before = stack.reset_calls()
        assert 0 < len(before) < SERVERS, before
        # The calls the dead process had in flight land (or not) before the cloud gets fast again.
        await eventually(lambda: stack.sim.in_flight == 0, 10, "the dead process's calls to end")
        stack.sim.latency_s = 0.02

        started = time.monotonic()
        await stack.restart(bot)
        final = await stack.wait_final(request_id, timeout=60)
        took = time.monotonic() - started
        text = str(final.args["text"])
        assert "restart" in text, text

        # No server was reset twice; every server was reset once or was in flight at the kill.
        resets = stack.reset_calls()
        assert all(n == 1 for n in resets.values()), collections.Counter(resets.values())
        missing = [n for n in names if ids_by_name[n] not in resets]
        # At most the calls in flight (the ECS concurrency, 2) were lost, plus the servers marked ahead of
        # their calls (none while a call takes much longer than a mark; at most concurrency // 2 = 1).
        assert len(missing) <= 2 + 1, missing

        # The card says so too, and the request is final with a reveal offered.
        await stack.slack.wait_for(
            "chat.postMessage", lambda c: "restarted during this reset" in str(c.args.get("text")), 5
        )
        offer = await stack.slack.wait_for(
            "chat.postMessage",
            lambda c: f"request #{request_id} is ready to reveal" in str(c.args.get("text")),
            5,
        )
        message = next(
            m for m in stack.slack.messages(str(offer.args["channel"])) if m.text == offer.args["text"]
        )
        since = stack.slack.call_count
        await stack.click(REQUESTER, ids.REVEAL_ACTION, message)
        modal = await stack.slack.wait_for("views.open", None, 10, since=since)
        view = modal.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        revealed = passwords_by_server(view["blocks"])
        # Every server the cloud reset got the password the requester now holds.
        for name in names:
            if ids_by_name[name] in resets:
                assert name in revealed, name
                assert stack.sim.fleet.password_matches(ids_by_name[name], revealed[name]), name

        # The request waiting for approval before the crash is still there, and still works.
        flow = await stack.approve_and_collect(pending_id, pending_card)
        for name in stack.resettable(2, skip=SERVERS):
            assert stack.sim.fleet.password_matches(stack.server_id(name), flow.revealed_passwords[0])
        assert took < 60
