"""The Slack front end reads the runtime's one clock: what it shows as "now" and the ages it keeps are
the injected clock's, so a test moves time instead of sleeping (and a wrong wall clock shows as one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from home_aids import click_home, published_for
from slack_helpers import (
    APPROVERS,
    REQUESTER,
    block_texts,
    card,
    delivered_passwords,
    resettable_servers,
    reveal_offer,
    submit_request,
)
from support.clock import FakeClock
from support.polling import eventually

from bot.app import Tuning
from bot.demo import World
from bot.health import Health
from bot.slack import ids
from bot.slack.client import PROBE_EVERY_S, SlackHealth
from bot.slack.refusals import Refusal, RefusalKind

WorldFactory = Callable[..., Awaitable[World]]

AHEAD = timedelta(minutes=7)
"""How far the test moves the bot's clock past the wall clock: inside the 15 min reveal window."""


def shown_at(clock: FakeClock) -> str:
    """The moment as Slack's date token carries it (`<!date^EPOCH^...`): seconds since the epoch."""
    return f"<!date^{int(clock.now().timestamp())}^"


async def revealed_world(make_world: WorldFactory, clock: FakeClock) -> tuple[World, int]:
    tuning = Tuning(sweep_interval_s=3600.0, job_poll_interval_s=0.05, drain_timeout_s=5.0)
    world = await make_world(clock=clock, tuning=tuning)
    request = await submit_request(world, resettable_servers(world, 1))
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    await delivered_passwords(world, request.id)
    clock.advance(AHEAD)
    return world, request.id


async def test_the_dm_offer_says_it_was_revealed_at_the_injected_clocks_time(
    make_world: WorldFactory,
) -> None:
    clock = FakeClock()
    world, request_id = await revealed_world(make_world, clock)
    offer = await reveal_offer(world, request_id)
    since = world.slack.call_count
    await world.click(REQUESTER, ids.REVEAL_ACTION, offer)
    await world.slack.wait_for("views.open", None, 10.0, since=since)
    await eventually(
        lambda: "were revealed" in block_texts(world.slack.message(offer.channel, offer.ts).blocks),
        10.0,
        "the DM's Reveal offer marked revealed",
    )
    assert shown_at(clock) in block_texts(world.slack.message(offer.channel, offer.ts).blocks)


async def test_a_reveal_from_home_marks_the_dm_offer_with_the_injected_clocks_time(
    make_world: WorldFactory,
) -> None:
    clock = FakeClock()
    world, request_id = await revealed_world(make_world, clock)
    await world.open_home(REQUESTER)
    await published_for(world, REQUESTER, "can be revealed once", 0)
    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_REVEAL_ACTION, str(request_id))
    await world.slack.wait_for("views.open", None, 10.0, since=since)
    offer = await reveal_offer(world, request_id)
    await eventually(
        lambda: "were revealed" in block_texts(world.slack.message(offer.channel, offer.ts).blocks),
        10.0,
        "the DM's Reveal offer marked revealed",
    )
    assert shown_at(clock) in block_texts(world.slack.message(offer.channel, offer.ts).blocks)


async def test_the_runtime_hands_its_clock_to_the_slack_front_end(make_world: WorldFactory) -> None:
    clock = FakeClock()
    world = await make_world(clock=clock)
    assert world.runtime.slack_client.health.clock is clock
    assert world.runtime.home.clock is clock


@pytest.mark.parametrize("waited_s", [0.0, PROBE_EVERY_S - 0.1])
def test_a_refused_token_is_probed_again_only_once_the_clock_moved_on(waited_s: float) -> None:
    clock = FakeClock()
    health = SlackHealth(Health(log_changes=False), clock=clock)
    assert not health.probe_due()  # nothing refused: nothing to probe
    health.token_refusal = Refusal("chat.postMessage", "invalid_auth", RefusalKind.OPERATOR_MUST_FIX)
    assert health.probe_due()
    clock.advance(timedelta(seconds=waited_s))
    assert not health.probe_due()
    clock.advance(timedelta(seconds=PROBE_EVERY_S - waited_s))
    assert health.probe_due()
