"""An exact crash report: two replicas on PostgreSQL, `kill -9` of the executing one mid-reset.

Per-server passwords for 6 servers, `BOT_ECS_CONCURRENCY=2`, 3 s of cloud latency per call, SIGKILL 0.5 s
after the first reset call reaches the cloud. The survivor takes the execution over: a server is unknown
only if a call for it reached the cloud before the kill; every other server is reset by the survivor with
the sealed password, once; the requester gets the passwords, each opening its server.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from support.harness import APPROVERS, REQUESTER, make_stack
from support.pg import PgDatabase
from support.polling import eventually
from support.shown import passwords_by_server

from bot.slack import ids

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RESET = "/os-reset-password"  # matches the batch and the single-server path


async def test_kill_9_on_one_replica_leaves_unknown_only_what_reached_the_cloud(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    env = {"BOT_ECS_CONCURRENCY": "2", "BOT_EXECUTION_LEASE": "2s", "BOT_SWEEP_INTERVAL": "0.5s"}
    async with make_stack(tmp_path, database_url=pg_database.url, servers=30, extra_env=env) as stack:
        executing, survivor = await asyncio.gather(stack.start_bot(), stack.start_bot())
        names = stack.resettable(6)
        ids_by_name = {n: stack.server_id(n) for n in names}
        request_id, card = await stack.new_request(REQUESTER, names, mode="per_server", bot=survivor)

        def reset_arrivals() -> list[tuple[str, float]]:
            """(server id, time) of each reset call as it reached the cloud, dry runs left out."""
            return [
                (server_id, arrival.at)
                for arrival in stack.sim.arrivals
                if arrival.method == "PUT"
                and RESET in arrival.path
                and not (isinstance(arrival.body, dict) and arrival.body.get("dry_run"))
                for server_id in arrival.server_ids
            ]

        stack.sim.latency_s = 3.0
        status, _ = await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card, bot=executing)
        assert status == 200
        await eventually(lambda: bool(reset_arrivals()), 30, "the first reset call at the cloud")
        await asyncio.sleep(0.5)  # the scenario: SIGKILL 0.5 s after the first call arrived
        executing.kill9()
        killed_at = time.time()
        reached = {server for server, at in reset_arrivals() if at <= killed_at}
        assert 1 <= len(reached) <= 2, reached  # at most the concurrency: nothing is sent ahead

        stack.sim.latency_s = 0.05
        await stack.wait_final(request_id, timeout=90)

        phases = {
            row["server_id"]: row["phase"]
            for row in await pg_database.query(
                "SELECT server_id, phase FROM request_servers WHERE request_id = $1", request_id
            )
        }
        unknown = {sid for sid, phase in phases.items() if phase == "unknown"}
        assert unknown <= reached, (unknown, reached)  # unknown only if a call reached the cloud
        never_reached = set(ids_by_name.values()) - reached
        assert {phases[sid] for sid in never_reached} == {"succeeded"}, phases
        # Never resent: each server's reset reached the cloud once.
        counts: dict[str, int] = {}
        for server, _ in reset_arrivals():
            counts[server] = counts.get(server, 0) + 1
        assert set(counts.values()) == {1}, counts

        # The requester holds a password for every server, and each opens the server it names.
        offer = await stack.slack.wait_for(
            "chat.postMessage",
            lambda c: f"request #{request_id} is ready to reveal" in str(c.args.get("text")),
            10,
        )
        message = next(
            m for m in stack.slack.messages(str(offer.args["channel"])) if m.text == offer.args["text"]
        )
        since = stack.slack.call_count
        await stack.click(REQUESTER, ids.REVEAL_ACTION, message, bot=survivor)
        modal = await stack.slack.wait_for("views.open", None, 10, since=since)
        view = modal.args["view"]
        revealed = passwords_by_server((json.loads(view) if isinstance(view, str) else view)["blocks"])
        for name, server_id in ids_by_name.items():
            if server_id in never_reached:
                assert stack.sim.fleet.password_matches(server_id, revealed[name]), name
