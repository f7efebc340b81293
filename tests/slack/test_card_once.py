"""Two replicas that both see a request's card missing post it once (a claim in the store before posting).

Each replica is a SlackNotifier with its own Slack client and its own Store on one database (SQLite file
or PostgreSQL), as two bot processes have; both act at the same moment against the fake Slack over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet
from slack_sdk.web.async_client import AsyncWebClient
from support.pg import PG_URL, fresh_schema

from bot.domain import NewRequest, NewServer, PasswordMode, RebootMode, RequestStatus
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack, SlackUser
from bot.slack.notifier import CARD, SlackNotifier
from bot.store import Store
from bot.workflow import EventKind, RequestView, WorkflowEvent

CHANNEL, REQUESTER = "C0APPROVALS", "U0REQUESTER"


@dataclass
class Replica:
    store: Store
    notifier: SlackNotifier


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[FakeSlack, list[Replica]]]:
    key = Fernet.generate_key().decode()
    async with (
        FakeSlack(users=[SlackUser(REQUESTER, "alice")], channels={CHANNEL: "approvals"}) as slack,
        aiohttp.ClientSession() as one,
        aiohttp.ClientSession() as other,
    ):
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
            stores = [await Store.open(url, secret_keys=[key]) for _ in range(2)]
            yield slack, await _started(slack, stores, (one, other))
        else:
            async with fresh_schema("card") as schema:
                stores = [await Store.open(PG_URL, secret_keys=[key], schema=schema) for _ in range(2)]
                yield slack, await _started(slack, stores, (one, other))
        for store in stores:
            await store.close()


async def _started(
    slack: FakeSlack, stores: list[Store], sessions: tuple[aiohttp.ClientSession, ...]
) -> list[Replica]:
    for store in stores:
        await store.migrate()
    return [
        Replica(
            store,
            SlackNotifier(AsyncWebClient(token=FAKE_BOT_TOKEN, base_url=slack.api_url, session=s), store),
        )
        for store, s in zip(stores, sessions, strict=True)
    ]


async def pending_view(store: Store) -> RequestView:
    new = NewRequest(
        target="prod",
        requester_id=REQUESTER,
        reason="INC-7 locked out",
        password_mode=PasswordMode.SHARED,
        reboot=RebootMode.NONE,
        approvals_required=1,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    server = NewServer(server_id="0" * 8 + "-0000-4000-8000-" + "0" * 12, name="web-1", plugin_installed=True)
    created = (await store.create_request_once(new, [server])).request
    moved = await store.transition(created.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING)
    assert moved is not None
    return RequestView(moved, await store.servers(moved.id), [], approvers_channel=CHANNEL)


def cards(slack: FakeSlack) -> list[str]:
    return [m.ts for m in slack.messages(CHANNEL) if m.thread_ts is None]


async def test_two_replicas_seeing_no_card_post_it_once(replicas: tuple[FakeSlack, list[Replica]]) -> None:
    slack, (a, b) = replicas
    view = await pending_view(a.store)
    # Both sweepers find the request pending with no card and no DM (say Slack was down when it was made).
    sent = await asyncio.gather(a.notifier.ensure_shown(view), b.notifier.ensure_shown(view))
    assert len(cards(slack)) == 1, "one card, whichever replica posted it"
    assert len(slack.messages(slack.dm_channel(REQUESTER))) == 1, "one 'received' DM"
    assert [CARD in s for s in sent].count(True) == 1

    # Later, someone deletes the card and both replicas find it gone when they edit it: one new card.
    [posted] = [s[CARD] for s in sent if CARD in s]
    slack.delete_message(CHANNEL, posted.message_ts)
    with_card = RequestView(
        replace(view.request, message_refs={CARD: posted}), view.servers, [], approvers_channel=CHANNEL
    )
    event = WorkflowEvent(EventKind.EXPIRED)
    await asyncio.gather(*(r.notifier.request_updated(with_card, event) for r in (a, b)))
    assert len(cards(slack)) == 1, "the deleted card is posted again once"


async def test_a_failed_post_gives_its_claim_back(replicas: tuple[FakeSlack, list[Replica]]) -> None:
    slack, (a, b) = replicas
    view = await pending_view(a.store)
    slack.fail("chat.postMessage", "internal_error", channel=CHANNEL)
    await a.notifier.request_ready(view)
    assert cards(slack) == []
    await b.notifier.ensure_shown(view)  # at once, not two minutes later
    assert len(cards(slack)) == 1
