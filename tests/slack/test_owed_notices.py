"""Notices Slack refused are owed in the database: a new bot on the same database sends them, once.

The first bot is stopped while the requester's "denied" DM is still refused; two new bots (replicas) start
on the same database and sweep at the same moment; the DM lands exactly once and the debt is settled.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from slack_helpers import REQUESTER, deny, resettable_servers, submit_request
from support.clock import FakeClock
from support.polling import eventually

from bot.app import Runtime, Tuning
from bot.demo import World
from bot.simulator.slack import SlackCall


def denied_dm(world: World, request_id: int) -> list[SlackCall]:
    dm = world.slack.dm_channel(REQUESTER)
    return [
        c
        for c in world.slack.calls("chat.postMessage")
        if c.ok
        and c.args.get("channel") == dm
        and f"Your request #{request_id} was denied" in str(c.args["text"])
    ]


async def test_a_refused_notice_is_sent_once_by_the_bots_after_a_restart(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    dm = world.slack.dm_channel(REQUESTER)
    # Slack's outage for the requester's DM: every post there answers 503 (slack_sdk's own retries too).
    outage = world.slack.server_error("chat.postMessage", None, channel=dm)
    await deny(world, request.id, "Not in the change window")
    store = world.runtime.store
    far = world.runtime.workflow.clock.now() + timedelta(days=2)

    async def owed() -> list[str]:
        return [n.unit for n in await stores[-1].notices_due(far) if n.request_id == request.id]

    stores = [store]

    async def owed_denial() -> bool:
        return "requester_denied" in await owed()

    await eventually(owed_denial, 15, "the refused 'denied' DM owed in the database")
    [notice] = [n for n in await store.notices_due(far) if n.unit == "requester_denied"]
    assert notice.route == "to_requester"
    assert "was denied" in str(notice.text)
    assert not denied_dm(world, request.id)

    # The bot stops with the DM owed (its own sweeper has not come round: the notice waits 2 s first).
    config = world.runtime.config
    await world.listeners.close()
    await world.runtime.close()
    world.slack.faults.remove(outage)

    # Two new bots on the same database, their clocks past the notice's wait; each sweeps once at start.
    clock = FakeClock(notice.next_at + timedelta(seconds=1))
    quiet = Tuning(sweep_interval_s=3600, job_poll_interval_s=0.05, drain_timeout_s=2.0)
    replicas = [await Runtime.build(config, tuning=quiet, clock=clock) for _ in range(2)]
    stores.append(replicas[0].store)
    try:
        await asyncio.gather(*(r.start() for r in replicas))

        # And again, both at the same instant, until the debt is settled; then once more.
        async def settled() -> bool:
            if "requester_denied" not in await owed():
                return True
            await asyncio.gather(*(r.sweeper.sweep(clock.now()) for r in replicas))
            return False

        await eventually(settled, 15, "the owed DM sent by the new bots")
        await asyncio.gather(*(r.sweeper.sweep(clock.now()) for r in replicas))
        await asyncio.gather(*(r.tasks.idle() for r in replicas))
        assert len(denied_dm(world, request.id)) == 1, "sent exactly once by the two bots"
        # Nothing secret was kept: the debt held a sentence people were meant to read, and is gone.
    finally:
        for runtime in replicas:
            await runtime.close()
