"""Every break-glass is announced, whatever stopped the process that ran it: recovery announces a run
its stopped process never announced, and a sweep sends an announcement cut off after the run finished."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from break_glass_aids import (
    AUDIT_CHANNEL,
    IC,
    REASON,
    ask,
    claimed_by_a_stopped_process,
    confirm,
    delivered_passwords_to,
    posted_since,
    start,
)
from slack_helpers import APPROVERS, APPROVERS_CHANNEL, block_texts, card_says, card_where, resettable_servers
from support.clock import FakeClock
from support.polling import eventually

from bot.app import Runtime, Tuning
from bot.demo import button_value
from bot.domain import RequestStatus
from bot.simulator.slack import SlackFault
from bot.slack import ids


@pytest.mark.parametrize("sealed", [True, False], ids=["reset-under-way", "before-the-reset"])
async def test_recovery_announces_a_break_glass_its_stopped_process_never_announced(
    make_world: Any, tmp_path: Path, sealed: bool
) -> None:
    """Approvers are told of every break-glass: a process that stopped between the claim and the
    announcement leaves it to the replica that takes the run over, once."""
    clock = FakeClock()
    world = await start(make_world, tmp_path, clock=clock)
    servers = resettable_servers(world, 2)
    request_id = await claimed_by_a_stopped_process(world, servers, sealed=sealed)
    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.tasks.idle()
    assert world.slack.messages(APPROVERS_CHANNEL) == [], "a live run (inside its lease) is left alone"

    clock.advance(world.runtime.sweeper.executor.settings.lease + timedelta(seconds=1))
    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.tasks.idle()
    final = await card_where(world, request_id, card_says("*Done*" if sealed else "*Failed*"))
    texts = block_texts(final.blocks)
    assert "BREAK-GLASS" in texts
    assert button_value(final.blocks, ids.FLAG_ACTION) == str(request_id)
    assert len([m for m in world.slack.messages(APPROVERS_CHANNEL) if f"#{request_id} " in m.text]) == 1
    for approver in APPROVERS:
        dm = world.message_like(
            world.slack.dm_channel(approver), ":rotating_light: *Break-glass on demo-aksk*"
        )
        assert f"<@{IC}>" in dm.text
        assert REASON in dm.text
    audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
    assert len([line for line in audit if "BREAK-GLASS on demo-aksk" in line]) == 1, audit
    stored = await world.runtime.store.get_request(request_id)
    assert stored is not None
    assert stored.claimed_by == world.runtime.sweeper.executor.settings.worker_id
    if sealed:
        assert stored.status == RequestStatus.SUCCEEDED
        _, passwords = await delivered_passwords_to(world, IC, request_id)
        assert sorted(passwords) == servers
        by_name = {s.name: s.id for s in world.sim.fleet}
        assert all(world.sim.fleet.password_matches(by_name[n], p) for n, p in passwords.items())
        assert await world.runtime.store.last_break_glass(IC, "demo-aksk") is not None, "the cooldown holds"
    else:  # nothing was sealed, so nothing can be reset: reported, not run blind
        assert stored.status == RequestStatus.FAILED
        # ... and, as after a failed pre-flight, the attempt does not bar the next one.
        assert await world.runtime.store.last_break_glass(IC, "demo-aksk") is None
        released = [
            a for a in await world.runtime.store.audit(request_id) if a.event == "break_glass_released"
        ]
        assert [a.detail for a in released] == [{"why": "nothing reset"}]

    since = world.slack.call_count
    clock.advance(world.runtime.sweeper.executor.settings.lease + timedelta(seconds=1))
    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.tasks.idle()
    assert posted_since(world, since) == [], "announced once"


async def test_an_announcement_cut_off_after_the_run_is_sent_by_the_next_sweep(
    make_world: Any, tmp_path: Path
) -> None:
    """Slack holds the break-glass card past the reset's wait, the reset finishes, and the process stops
    before the announcement went out: no recovery takes the finished run over, yet the approvers are told,
    once, by the next replica's sweep (the announcement was owed in the database before it was sent)."""
    clock = FakeClock()
    tuning = Tuning(
        sweep_interval_s=3600,
        job_poll_interval_s=0.05,
        drain_timeout_s=0.5,
        home_refresh_s=None,
        break_glass_announce_s=0.2,
    )
    world = await start(make_world, tmp_path, clock=clock, tuning=tuning)
    servers = resettable_servers(world, 1)
    hanging = SlackFault(
        "chat.postMessage", "request_timeout", times=1, status=504, channel=APPROVERS_CHANNEL, hold_s=120
    )
    world.slack.faults.append(hanging)
    await ask(world, IC, servers)
    await confirm(world, IC)
    [request] = await world.runtime.store.list_requests(requester_id=IC, limit=1)
    await delivered_passwords_to(world, IC, request.id)

    async def finished() -> bool:
        stored = await world.runtime.store.get_request(request.id)
        return stored is not None and stored.status == RequestStatus.SUCCEEDED

    await eventually(finished, 20, "the break-glass reset to finish")
    assert hanging.hits == 1, "the card post is held"
    assert world.slack.messages(APPROVERS_CHANNEL) == []
    assert not any(world.slack.messages(world.slack.dm_channel(a)) for a in APPROVERS), "nobody told yet"

    # The process stops (its announcement cut off), and the next one starts after the notices' hold.
    config = world.runtime.config
    await world.listeners.close()
    await world.runtime.close()
    later = FakeClock(clock.now() + timedelta(minutes=3))
    replica = await Runtime.build(config, tuning=tuning, clock=later)
    try:
        await replica.start()
        await replica.sweeper.sweep(later.now())
        await replica.tasks.idle()
        cards = [m for m in world.slack.messages(APPROVERS_CHANNEL) if f"#{request.id} " in m.text]
        assert len(cards) == 1, cards
        assert "BREAK-GLASS" in block_texts(cards[0].blocks)
        assert button_value(cards[0].blocks, ids.FLAG_ACTION) == str(request.id)
        for approver in APPROVERS:
            dm = world.slack.messages(world.slack.dm_channel(approver))
            assert len([m for m in dm if "Break-glass on demo-aksk" in m.text and REASON in m.text]) == 1
        audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
        assert len([line for line in audit if "BREAK-GLASS on demo-aksk" in line]) == 1, audit
        far = later.now() + timedelta(days=2)
        assert [n.unit for n in await replica.store.notices_due(far) if n.request_id == request.id] == []
        stored = await replica.store.get_request(request.id)
        assert stored is not None
        assert "card" in stored.message_refs, "the card's place is kept"

        since = world.slack.call_count
        later.advance(timedelta(minutes=3))
        await replica.sweeper.sweep(later.now())
        await replica.tasks.idle()
        assert posted_since(world, since) == [], "announced once"
    finally:
        await replica.close()
