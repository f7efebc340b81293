"""SlackNotifier against the fake Slack over HTTP: where each workflow event lands, edited in place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    make_view,
    resettable_servers,
    submit_request,
)
from slack_sdk.web.async_client import AsyncWebClient
from support.notices import MemoryLedger

from bot.demo import World
from bot.domain import MessageRef, RequestStatus, ServerPhase
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack, SlackUser
from bot.slack import ids
from bot.slack.notifier import CARD, DM, REVEAL, SlackNotifier
from bot.workflow import Delivered, DeliveredSecret, EventKind, RequestView, SentMessages, WorkflowEvent

AUDIT = "CAUDITLOG01"
DM_CHANNEL = "DDEMOREQUESTER"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users=[SlackUser(REQUESTER, "alice"), SlackUser(APPROVERS[0], "bob")],
        channels={APPROVERS_CHANNEL: "ecs-approvals", AUDIT: "ecs-audit"},
    )
    async with slack:
        yield slack


class Refs:
    """Stands in for the workflow's store of message refs: what each posting call said it posted."""

    def __init__(self) -> None:
        self.saved: dict[tuple[int, str], MessageRef] = {}

    def keep(self, view: RequestView, sent: SentMessages) -> SentMessages:
        for name, ref in sent.items():
            self.saved[(view.request.id, name)] = ref
        return sent


class KeepingNotifier(SlackNotifier):
    """The real notifier, its answers kept in `refs` as the workflow keeps them."""

    def __init__(self, client: AsyncWebClient, refs: Refs, **kwargs: Any) -> None:
        super().__init__(client, MemoryLedger(), **kwargs)
        self.refs = refs

    async def request_submitted(self, view: RequestView) -> SentMessages:
        return self.refs.keep(view, await super().request_submitted(view))

    async def request_ready(self, view: RequestView) -> SentMessages:
        return self.refs.keep(view, await super().request_ready(view))

    async def deliver_secret(self, view: RequestView, *args: Any) -> Delivered:
        delivered = await super().deliver_secret(view, *args)
        self.refs.keep(view, delivered.sent)
        return delivered

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        return self.refs.keep(view, await super().ensure_shown(view))


def where(ref: MessageRef) -> tuple[str, str]:
    return ref.channel_id, ref.message_ts


@pytest.fixture
async def notifier(fake: FakeSlack) -> tuple[SlackNotifier, Refs]:
    client = AsyncWebClient(token=FAKE_BOT_TOKEN, base_url=fake.api_url)
    refs = Refs()
    return KeepingNotifier(client, refs, audit_channel=AUDIT), refs


async def posted_card_and_dm(notifier: SlackNotifier, refs: Refs) -> dict[str, MessageRef]:
    """Submits and readies request #7; returns its message refs as the store would hold them."""
    await notifier.request_submitted(make_view(3, status=RequestStatus.PREFLIGHT))
    await notifier.request_ready(make_view(3, message_refs={DM: refs.saved[(7, DM)]}))
    return {CARD: refs.saved[(7, CARD)], DM: refs.saved[(7, DM)]}


async def test_submitted_and_ready(fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]) -> None:
    sender, refs = notifier
    stored = await posted_card_and_dm(sender, refs)
    dm_channel, dm_ts = where(stored[DM])
    assert dm_channel == DM_CHANNEL
    assert "checking it with the cloud" in str(fake.calls("chat.postMessage")[0].args["text"])
    card_channel, card_ts = where(stored[CARD])
    assert card_channel == APPROVERS_CHANNEL
    assert "*Password reset request #7*" in block_texts(fake.message(card_channel, card_ts).blocks)
    assert "Waiting for approval" in block_texts(fake.message(dm_channel, dm_ts).blocks), "DM edited in place"
    assert len(fake.calls("conversations.open")) == 1, "the DM channel is looked up once"
    assert [m.text for m in fake.messages(AUDIT)] == [
        f"#7 submitted by <@{REQUESTER}> for demo-aksk (3 servers)"
    ]


async def test_no_approvers_channel_posts_nothing(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs], caplog: pytest.LogCaptureFixture
) -> None:
    sender, refs = notifier
    view = make_view(1)
    view = type(view)(view.request, view.servers, view.decisions, None)
    with caplog.at_level(logging.ERROR):
        await sender.request_ready(view)
    assert fake.calls("chat.postMessage") == []
    assert refs.saved == {}
    assert "no approvers channel" in caplog.text


async def test_updates_edit_the_card_and_reply_in_its_thread(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    stored = await posted_card_and_dm(sender, refs)
    card_channel, card_ts = where(stored[CARD])
    posts = len(fake.calls("chat.postMessage"))
    await sender.request_updated(
        make_view(3, message_refs=stored, approvals_required=2),
        WorkflowEvent(EventKind.APPROVED_BY, APPROVERS[0]),
    )
    assert [m.text for m in fake.replies(card_channel, card_ts)] == [
        f":white_check_mark: Approved by <@{APPROVERS[0]}>."
    ]
    assert {c.args["ts"] for c in fake.calls("chat.update")} == {card_ts, stored[DM].message_ts}
    requester_posts = [c for c in fake.calls("chat.postMessage")[posts:] if c.args["channel"] == DM_CHANNEL]
    assert requester_posts == [], "an approval on its way is not worth a DM"
    assert len(fake.messages(APPROVERS_CHANNEL)) == 1


async def test_finished_posts_every_result_and_tells_the_requester(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    stored = await posted_card_and_dm(sender, refs)
    card_channel, card_ts = where(stored[CARD])
    view = make_view(
        100,
        status=RequestStatus.SUCCEEDED,
        phase=ServerPhase.SUCCEEDED,
        outcome="100 of 100 reset.",
        message_refs=stored,
    )
    await sender.request_updated(view, WorkflowEvent(EventKind.FINISHED, None, "100 of 100 server(s) reset."))
    replies = [m.text for m in fake.replies(card_channel, card_ts)]
    assert replies[0] == ":large_green_circle: `100 of 100 server(s) reset.`"
    assert sum(len(r.splitlines()) for r in replies[1:]) == 100
    assert len(replies) == 1 + 3
    card_now = fake.message(card_channel, card_ts)
    assert "*Done*" in block_texts(card_now.blocks)
    requester = [m.text for m in fake.messages(DM_CHANNEL)]
    assert "Your request #7 is finished: `100 of 100 server(s) reset.`" in requester


async def test_requester_is_not_told_about_their_own_cancel(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    stored = await posted_card_and_dm(sender, refs)
    view = make_view(3, status=RequestStatus.CANCELLED, message_refs=stored)
    await sender.request_updated(view, WorkflowEvent(EventKind.CANCELLED, REQUESTER, "Cancelled."))
    assert len(fake.messages(DM_CHANNEL)) == 1, "only the status message, edited"
    denied = make_view(3, status=RequestStatus.DENIED, message_refs=stored)
    await sender.request_updated(denied, WorkflowEvent(EventKind.DENIED, APPROVERS[0], "Denied: <not now>"))
    assert fake.messages(DM_CHANNEL)[-1].text == (
        f":no_entry: Your request #7 was denied by <@{APPROVERS[0]}>. `Denied: &lt;not now&gt;`"
    ), "the requester reads the reason, escaped"


async def test_delivery_survives_a_refused_ephemeral(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    fake.fail("chat.postEphemeral", "user_not_in_channel")
    secrets = [DeliveredSecret(("web-0001",), "Pw-Canary-123!")]
    await sender.deliver_secret(make_view(1), secrets, "tok", datetime.now(UTC) + timedelta(minutes=15))
    channel, ts = where(refs.saved[(7, REVEAL)])
    offer = fake.message(channel, ts)
    assert "Reveal once" in str(offer.blocks)
    assert "Pw-Canary-123!" not in str(offer.as_api())
    assert fake.calls("chat.postEphemeral")[0].error == "user_not_in_channel"


async def test_reminder_and_a_broken_audit_channel(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    stored = await posted_card_and_dm(sender, refs)
    card_channel, card_ts = where(stored[CARD])
    await sender.remind_approvers(make_view(3, message_refs=stored))
    assert fake.replies(card_channel, card_ts)[-1].text == ":bell: Request #7 is still waiting for approval."
    sender.audit_channel = "UNOBODY"  # Slack answers channel_not_found; the workflow must not notice
    await sender.request_updated(
        make_view(3, status=RequestStatus.EXPIRED, message_refs=stored), WorkflowEvent(EventKind.EXPIRED)
    )
    assert "*Expired*" in block_texts(fake.message(card_channel, card_ts).blocks)
    assert fake.calls("chat.postMessage")[-1].error == "channel_not_found"


async def test_expiry_through_the_bot_tells_everyone(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.runtime.tasks.idle()
    stored = await world.runtime.store.get_request(request.id)
    assert stored is not None
    assert await world.runtime.workflow.expire(stored) is not None
    expired = await card_where(world, request.id, card_says("*Expired*"))
    assert not [b for b in expired.blocks if b["type"] == "actions"]
    await world.runtime.tasks.idle()
    thread = [m.text for m in world.slack.replies(APPROVERS_CHANNEL, card(world, request.id).ts)]
    assert f"<@{REQUESTER}> can submit it again" in thread[-1]
    dm = [m.text for m in world.slack.messages(world.slack.dm_channel(REQUESTER))]
    assert f":alarm_clock: Your request #{request.id} expired before it was approved." in dm


async def test_a_card_that_could_not_be_posted_is_posted_by_ensure_shown(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    fake.fail("chat.postMessage", "service_unavailable", times=1)
    await sender.request_ready(make_view(3))  # a refused notice never raises into the workflow
    assert (7, CARD) not in refs.saved, "Slack was down: no card"

    await sender.ensure_shown(make_view(3))
    assert (7, CARD) in refs.saved
    channel, ts = where(refs.saved[(7, CARD)])
    assert "*Password reset request #7*" in block_texts(fake.message(channel, ts).blocks)

    posts = len(fake.calls("chat.postMessage"))
    shown = {CARD: refs.saved[(7, CARD)], DM: refs.saved[(7, DM)]}
    await sender.ensure_shown(make_view(3, message_refs=shown))
    assert len(fake.calls("chat.postMessage")) == posts, "a card already shown is not posted twice"


async def test_ensure_shown_sends_the_requester_the_dm_they_never_got(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    """The process stopped before its "received" DM: ensure_shown sends it (with Cancel), once."""
    sender, refs = notifier
    await sender.ensure_shown(make_view(3, status=RequestStatus.PREFLIGHT))
    assert (7, CARD) not in refs.saved, "no card before the pre-flight has passed"
    channel, ts = where(refs.saved[(7, DM)])
    assert channel == DM_CHANNEL
    dm = fake.message(channel, ts)
    assert dm.text == "Request #7 received; checking it with the cloud."
    buttons = [e["action_id"] for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ids.CANCEL_ACTION]

    posts = len(fake.calls("chat.postMessage"))
    await sender.ensure_shown(
        make_view(3, status=RequestStatus.PREFLIGHT, message_refs={DM: refs.saved[(7, DM)]})
    )
    assert len(fake.calls("chat.postMessage")) == posts, "a DM already sent is not sent twice"


async def test_ensure_shown_on_a_pending_request_nobody_saw_sends_dm_and_card(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    sender, refs = notifier
    await sender.ensure_shown(make_view(3))
    dm = fake.message(*where(refs.saved[(7, DM)]))
    assert dm.text.startswith("Request #7"), "sent, then edited to show its card is up"
    assert "Waiting for approval" in block_texts(dm.blocks)
    card_channel, card_ts = where(refs.saved[(7, CARD)])
    assert "*Password reset request #7*" in block_texts(fake.message(card_channel, card_ts).blocks)

    posts = len(fake.calls("chat.postMessage"))
    await sender.ensure_shown(
        make_view(3, message_refs={DM: refs.saved[(7, DM)], CARD: refs.saved[(7, CARD)]})
    )
    await sender.ensure_shown(make_view(3, status=RequestStatus.CANCELLED))
    assert len(fake.calls("chat.postMessage")) == posts, "nothing missing, or nothing left to show"


async def test_a_posted_card_is_reported_even_when_the_dm_edit_fails(
    fake: FakeSlack, notifier: tuple[SlackNotifier, Refs]
) -> None:
    """The card is up: its place must reach the store, or the sweeper would post a second card."""
    sender, refs = notifier
    await sender.request_submitted(make_view(3, status=RequestStatus.PREFLIGHT))
    fake.fail("chat.update", "ratelimited")
    sent = await sender.request_ready(make_view(3, message_refs={DM: refs.saved[(7, DM)]}))
    assert set(sent) == {CARD}
    assert fake.message(*where(sent[CARD])) is not None
    assert fake.calls("chat.update")[0].error == "ratelimited"
