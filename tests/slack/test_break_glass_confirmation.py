"""The break-glass confirmation over real HTTP: it carries only a key, the checked submission waits in the
database, so a break-glass covers as many servers as the target allows; taken once (a double click or a
replay makes one request), by its owner only, before it expires (an injected clock), on any replica; the
sweeper drops expired ones."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from break_glass_aids import IC, REASON, ask, confirm, start
from slack_helpers import REQUESTER, block_texts, card_says, card_where, resettable_servers
from support.clock import FakeClock

from bot.app import Runtime, Tuning
from bot.demo import World
from bot.slack import ids
from bot.store import HoldOutcome
from bot.workflow import BREAK_GLASS_HOLD_TTL


def confirmation_on_top(world: World, user: str) -> dict[str, Any]:
    """The confirmation as Slack shows it to `user` (the top of their modal stack), with its id."""
    pushed = world.slack.open_views(user)[-1]
    assert pushed.view["callback_id"] == ids.BREAK_GLASS_MODAL
    return world.slack.view_payload(pushed.id)


def shown_text(answer: str) -> str:
    """What an `update` answer to a submission shows (the notice that replaces the confirmation)."""
    parsed = json.loads(answer)
    assert parsed["response_action"] == "update", answer
    return block_texts(parsed["view"]["blocks"])


async def test_a_break_glass_of_150_servers_runs_and_the_card_names_the_count(
    make_world: Any, tmp_path: Path
) -> None:
    world = await start(make_world, tmp_path, servers=200)
    servers = resettable_servers(world, 150)
    _, answer = await ask(world, IC, servers)
    pushed = json.loads(answer)
    assert pushed["response_action"] == "push", answer
    assert "150 server(s)" in json.dumps(pushed["view"])
    metadata = confirmation_on_top(world, IC)["private_metadata"]
    assert 30 <= len(metadata) <= 64, "only a key: the submission waits in the database"
    assert not any(name in metadata for name in servers)

    assert json.loads(await confirm(world, IC)) == {"response_action": "clear"}
    [request] = await world.runtime.store.list_requests(requester_id=IC)
    assert request.break_glass is not None
    assert len(await world.runtime.store.servers(request.id)) == 150
    await world.card_for(request.id)
    done = await card_where(world, request.id, card_says("*Done*"), timeout=60)
    assert "*Servers (150)*" in block_texts(done.blocks)
    assert "BREAK-GLASS" in block_texts(done.blocks)


async def test_a_confirmation_submitted_twice_makes_one_request(make_world: Any, tmp_path: Path) -> None:
    world = await start(make_world, tmp_path)
    # A double click: both copies at once.
    await ask(world, IC, resettable_servers(world, 1))
    payload = confirmation_on_top(world, IC)
    copies = [world.requests.view_submission(user_id=IC, view=payload) for _ in range(2)]
    answers = await asyncio.gather(*(world.send(copy) for copy in copies))
    assert all(status == 200 for status, _ in answers)
    assert {"response_action": "clear"} in [json.loads(a) for _, a in answers]
    for _, answer in answers:
        if json.loads(answer) != {"response_action": "clear"}:
            assert "already submitted" in shown_text(answer), answer
    [request] = await world.runtime.store.list_requests(requester_id=IC)
    await world.card_for(request.id)
    await card_where(world, request.id, card_says("*Done*"))

    # A replay afterwards (a captured body sent again): answered as the first, nothing new.
    status, answer = await world.send(world.requests.view_submission(user_id=IC, view=payload))
    assert (status, json.loads(answer)) == (200, {"response_action": "clear"})
    assert [r.id for r in await world.runtime.store.list_requests(requester_id=IC)] == [request.id]
    assert [c for c in world.slack.calls("chat.postMessage") if "BREAK-GLASS" in json.dumps(c.args)]


async def test_someone_elses_confirmation_is_refused_and_stays_theirs(
    make_world: Any, tmp_path: Path
) -> None:
    world = await start(make_world, tmp_path)
    await ask(world, IC, resettable_servers(world, 1))
    payload = confirmation_on_top(world, IC)
    status, answer = await world.send(world.requests.view_submission(user_id=REQUESTER, view=payload))
    assert status == 200
    assert "belongs to someone else" in shown_text(answer)
    assert await world.runtime.store.list_requests() == [], "nothing created"

    # (The fake Slack applied that answer to the view it names; the owner submits what they were shown.)
    status, answer = await world.send(world.requests.view_submission(user_id=IC, view=payload))
    assert (status, json.loads(answer)) == (200, {"response_action": "clear"}), "still its owner's"
    assert len(await world.runtime.store.list_requests(requester_id=IC)) == 1


async def test_an_expired_confirmation_says_so_and_the_form_makes_a_new_one(
    make_world: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    world = await start(make_world, tmp_path, clock=clock)
    store = world.runtime.store
    servers = resettable_servers(world, 1)
    form, _ = await ask(world, IC, servers)
    key = confirmation_on_top(world, IC)["private_metadata"]

    clock.advance(BREAK_GLASS_HOLD_TTL + timedelta(seconds=1))
    said = shown_text(await confirm(world, IC))
    assert "This confirmation expired" in said
    assert "Nothing was run" in said
    assert "submit it again" in said
    assert await store.list_requests() == [], "nothing created"

    # The sweeper drops it (and a second sweep finds nothing more).
    assert (await store.take_break_glass_hold(key, IC, clock.now())).outcome == HoldOutcome.EXPIRED
    await world.runtime.sweeper.sweep(clock.now())
    assert (await store.take_break_glass_hold(key, IC, clock.now())).outcome == HoldOutcome.UNKNOWN
    assert await store.drop_expired_break_glass_holds(clock.now()) == 0

    # The form beneath was kept: submitted again, it makes a new confirmation, which runs.
    status, answer = await world.submit(
        IC, form, target="demo-aksk", servers=servers, reason=REASON, emergency=True
    )
    assert status == 200
    assert json.loads(answer)["response_action"] == "push", answer
    assert confirmation_on_top(world, IC)["private_metadata"] != key
    assert json.loads(await confirm(world, IC)) == {"response_action": "clear"}
    assert len(await store.list_requests(requester_id=IC)) == 1


async def test_a_second_replica_takes_the_confirmation(make_world: Any, tmp_path: Path) -> None:
    """The form answered by one bot, the confirmation by another on the same database (replicas behind a
    load balancer): the held submission is in the database, so the second runs it."""
    world = await start(make_world, tmp_path)
    await ask(world, IC, resettable_servers(world, 2))
    payload = confirmation_on_top(world, IC)
    quiet = Tuning(sweep_interval_s=3600, job_poll_interval_s=0.05, drain_timeout_s=2.0)
    replica = await Runtime.build(world.runtime.config, tuning=quiet)
    try:
        await replica.start()
        listeners = await replica.listen(http_port=0, metrics_port=0)
        try:
            url = f"http://127.0.0.1:{listeners.slack_port}/slack/events"
            confirmation = world.requests.view_submission(user_id=IC, view=payload)
            status, answer = await world.requests.deliver(url, confirmation, world.http)
            assert (status, json.loads(answer)) == (200, {"response_action": "clear"}), answer
            [request] = await world.runtime.store.list_requests(requester_id=IC)
            assert request.reason == REASON
            await world.card_for(request.id)
            await card_where(world, request.id, card_says("*Done*"))
            await replica.tasks.idle()
        finally:
            await listeners.close()
    finally:
        await replica.close()
