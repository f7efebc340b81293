"""Slack's side of the workflow's Notifier: cards, DMs, thread replies, and the private delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SYSTEM_CLOCK, Clock
from bot.metrics import NOTIFICATION_FAILURES, PASSWORDS_UNDELIVERED
from bot.slack import sentences
from bot.slack.blocks.card import approval_card, card_text, results_thread
from bot.slack.blocks.common import STATUS_EMOJI, context, escape
from bot.slack.blocks.dm import ephemeral_passwords, requester_status, reveal_offer
from bot.slack.refusals import HANDLING, Refusal, RefusalKind, classify
from bot.workflow import (
    OPEN_STATUSES,
    Delivered,
    DeliveredSecret,
    EventKind,
    MessageRef,
    NoticeLedger,
    OwedNotice,
    RequestStatus,
    RequestView,
    SentMessages,
    WorkflowEvent,
)

log = logging.getLogger(__name__)

RETRY_FOR_S = 24 * 3600.0
"""A failed notice is sent again for up to a day; after that it no longer matters."""
RETRY_MAX_WAIT_S = 300.0
"""Backoff between attempts doubles from 2 s up to this."""
POST_CLAIM_HOLD = timedelta(minutes=2)
"""A replica posting a card or DM holds it this long: its ref is kept with the request well before then."""
RETRY_HOLD = timedelta(minutes=2)
"""A replica sending an owed notice holds it this long: if it stops meanwhile, another sends it then."""
OFFER_RETRIES_S = (1.0, 2.0, 4.0)
"""The Reveal offer refused for a passing reason is tried again after these waits before the password
is declared undelivered (it is still offered later by the sweeper either way)."""

CARD, DM, REVEAL = "card", "dm", "reveal"

# How an owed notice is drawn again (OwedNotice.route): from the request's latest state, or its text.
POST_CARD, REQUESTER_DM, REQUESTER_STATUS, CARD_EDIT = "card_post", "requester_dm", "requester_status", "card"
THREAD, TO_REQUESTER, AUDIT, REVEAL_OFFER = "thread", "to_requester", "audit", "reveal_offer"
BREAK_GLASS_CARD, TO_USER = "break_glass_card", "to_user:"
"""`to_user:U…`: a DM line to that person (an approver told of a break-glass)."""

Send = Callable[[RequestView], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """What of a password delivery reached the requester (the final card says it)."""

    ephemeral: bool
    offer: bool
    why: str = ""

    @property
    def reached(self) -> bool:
        return self.ephemeral or self.offer


class SlackNotifier:
    """Every Slack write the workflow causes; message locations are kept in the request's refs.

    Each notice is its own unit (the card, its thread note, the requester's DM status, the requester's
    message, the audit channel): one refused call never skips the others. A unit refused for a reason
    that may pass (rate limit, outage, a channel the operator must fix) is owed in the `ledger` (the
    store: it outlives this process), and the sweeper's `retry_failed` on one replica sends it again,
    drawn from the request's latest state or its text, until it lands or no longer matters.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        ledger: NoticeLedger,
        *,
        audit_channel: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.audit_channel = audit_channel
        self.clock = clock
        # Posted by this process and not yet handed to the workflow (late posts: retries, a re-posted
        # card), and the newest ref per message, read before the view's (which may lag behind).
        self._sent: dict[int, dict[str, MessageRef]] = {}
        self._moved: dict[tuple[int, str], MessageRef] = {}
        self._dm_channels: dict[str, str] = {}
        self._owed: set[tuple[int, str]] = set()
        """Notices this process knows are owed (kept in the ledger): a success settles them there."""
        self._deliveries: dict[int, Delivery] = {}
        self._told_unusable: set[int] = set()
        self.on_change: Callable[[RequestView], None] | None = None
        """Told of every change of a request this notifier hears of (the Home tabs' publisher)."""

    def _changed(self, view: RequestView) -> None:
        if self.on_change is not None:
            self.on_change(view)

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    def _remember(self, request_id: int, key: str, ref: MessageRef) -> None:
        self._sent.setdefault(request_id, {})[key] = ref
        self._moved[(request_id, key)] = ref

    def _take_sent(self, request_id: int) -> SentMessages:
        return self._sent.pop(request_id, {})

    def _ref(self, view: RequestView, key: str) -> MessageRef | None:
        stored = view.request.message_refs.get(key)
        newer = self._moved.get((view.request.id, key))
        if newer is not None and newer == stored:
            del self._moved[(view.request.id, key)]  # the workflow has it now
        return newer or stored

    def reveal_offer(self, view: RequestView) -> MessageRef | None:
        """Where the request's Reveal offer (the DM with the button) is, if it was posted."""
        return self._ref(view, REVEAL)

    def _shown(self, view: RequestView, key: str) -> bool:
        return self._ref(view, key) is not None

    async def _post(
        self, channel: str, text: str, blocks: Sequence[Block] | None = None, thread_ts: str | None = None
    ) -> MessageRef:
        response = await self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=list(blocks) if blocks else None,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(str(response["channel"]), str(response["ts"]))

    # -- notice units ---------------------------------------------------------------------------------

    async def _unit(
        self,
        view: RequestView,
        unit: str,
        route: str,
        text: str | None = None,
        *,
        send: Send | None = None,
        matters_for_s: float = RETRY_FOR_S,
        attempts: int = 1,
    ) -> Refusal | None:
        """Sends one notice (`send`, or the one `route` and `text` draw); a refusal is counted, logged,
        and owed in the ledger when retrying helps. Returns the refusal, or None when it landed."""
        key = (view.request.id, unit)
        try:
            await (send or self._sender(route, text))(view)
        except Exception as exc:
            refusal = classify(exc)
            NOTIFICATION_FAILURES.labels(unit).inc()
            level = logging.ERROR if refusal.kind == RefusalKind.OPERATOR_MUST_FIX else logging.WARNING
            log.log(
                level,
                "notice %s of request #%d not sent: %s %s",
                unit,
                view.request.id,
                refusal.method,
                refusal.error,
            )
            if HANDLING[refusal.kind].retry:
                now = self.clock.now()
                owed = OwedNotice(
                    view.request.id,
                    unit,
                    route,
                    text,
                    attempts,
                    next_at=now + timedelta(seconds=min(2.0**attempts, RETRY_MAX_WAIT_S)),
                    until=now + timedelta(seconds=matters_for_s),
                )
                try:
                    await self.ledger.owe_notice(owed)
                    self._owed.add(key)
                except Exception as ledger_exc:
                    log.error("notice %s of request #%d is lost: %s", unit, view.request.id, ledger_exc)
            return refusal
        if key in self._owed:
            self._owed.discard(key)
            await self.ledger.settle_notice(*key)
        return None

    def _sender(self, route: str, text: str | None) -> Send:
        """How an owed notice is sent again: drawn from the request's latest state, or its own text."""
        if route == POST_CARD:
            return self._post_card
        if route == REQUESTER_DM:
            return self._requester_dm
        if route == REQUESTER_STATUS:
            return self._update_dm
        if route == CARD_EDIT:
            return self._update_card
        if route == REVEAL_OFFER:
            return self._offer_again
        if route == BREAK_GLASS_CARD:
            return self._post_break_glass_card
        line = text or ""
        if route.startswith(TO_USER):
            return self._dm_line(route.removeprefix(TO_USER), line)
        if route == THREAD:
            return self._thread(line)
        if route == TO_REQUESTER:
            return self._dm_line(None, line)
        if route == AUDIT:
            return self._to_audit(line)
        raise ValueError(f"unknown notice route {route!r}")

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        """Sends again every owed notice that is due, from its request's latest view, each on one replica
        only (the ledger's compare-and-set); drops those that no longer matter (their time is up, or the
        request is gone). Returns what it posted anew."""
        now = self.clock.now()
        for owed in await self.ledger.notices_due(now):
            key = (owed.request_id, owed.unit)
            if owed.until <= now:
                log.warning(
                    "gave up on notice %s of request #%d after %d attempts",
                    owed.unit,
                    owed.request_id,
                    owed.attempts,
                )
                await self.ledger.settle_notice(*key)
                continue
            if not await self.ledger.take_notice(owed, now + RETRY_HOLD):
                continue  # another replica is sending it
            self._owed.add(key)
            view = await load(owed.request_id)
            if view is None:
                self._owed.discard(key)
                await self.ledger.settle_notice(*key)
                continue
            left = (owed.until - now).total_seconds()
            await self._unit(
                view, owed.unit, owed.route, owed.text, matters_for_s=left, attempts=owed.attempts + 1
            )
        sent, self._sent = self._sent, {}
        return sent

    # -- what the workflow calls ------------------------------------------------------------------------

    async def request_submitted(self, view: RequestView) -> SentMessages:
        r = view.request
        self._changed(view)
        await self._unit(view, "requester_dm", REQUESTER_DM)
        await self._audit(
            view, "submitted", sentences.submitted_audit(r.id, r.requester_id, r.target, len(view.servers))
        )
        return self._take_sent(r.id)

    @contextlib.asynccontextmanager
    async def _only_here(self, request_id: int, what: str) -> AsyncIterator[bool]:
        """Whether this replica may post the request's message `what` now (a claim in the ledger, held
        until its ref is surely kept with the request); a post that fails gives the claim back at once,
        so its retry is not turned away."""
        now = self.clock.now()
        if not await self.ledger.claim_post(request_id, what, now, now + POST_CLAIM_HOLD):
            log.info("request #%d: %s is being posted by another replica", request_id, what)
            yield False
            return
        try:
            yield True
        except BaseException:
            await self.ledger.release_post(request_id, what)
            raise

    async def _requester_dm(self, v: RequestView) -> None:
        if self._shown(v, DM):
            return
        r = v.request
        async with self._only_here(r.id, DM) as mine:
            if not mine:
                return
            channel = await self.dm_channel(r.requester_id)
            # Sent late (ensure_shown) the request may be past its pre-flight: the preview says where it is.
            checking = r.status == RequestStatus.PREFLIGHT
            ref = await self._post(channel, sentences.received(r.id, checking), requester_status(v))
            self._remember(r.id, DM, ref)

    async def _new_card(self, v: RequestView, channel_id: str, blocks: list[Block], what: str = CARD) -> bool:
        """Posts the request's card once across replicas; False when another replica is posting it."""
        async with self._only_here(v.request.id, what) as mine:
            if mine:
                self._remember(v.request.id, CARD, await self._post(channel_id, card_text(v), blocks))
            return mine

    async def _post_card(self, v: RequestView) -> None:
        r = v.request
        channel_id = v.approvers_channel
        if channel_id is None or self._shown(v, CARD) or r.status != RequestStatus.PENDING:
            return  # shown meanwhile (the sweeper's ensure_shown), or it no longer matters
        if not await self._new_card(v, channel_id, approval_card(v)):
            return
        if r.id in self._told_unusable:
            self._told_unusable.discard(r.id)
            await self._tell_requester(
                v, "approvers_reachable", sentences.approvers_reachable(r.id, channel_id)
            )

    async def request_ready(self, view: RequestView) -> SentMessages:
        r = view.request
        self._changed(view)
        if view.approvers_channel is None:
            log.error("no approvers channel for target %s; request #%d cannot be shown", r.target, r.id)
            return {}
        channel_id = view.approvers_channel
        refusal = await self._unit(view, "card_post", POST_CARD)
        unusable = refusal is not None and refusal.kind == RefusalKind.OPERATOR_MUST_FIX
        if refusal is not None and unusable and r.id not in self._told_unusable:
            # The requester must not wait until the expiry in silence meanwhile.
            self._told_unusable.add(r.id)
            await self._tell_requester(
                view,
                "approvers_unreachable",
                sentences.approvers_unreachable(r.id, channel_id, refusal.operator_sentence(), r.expires_at),
            )
        await self._unit(view, "requester_status", REQUESTER_STATUS)
        return self._take_sent(r.id)

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None:
        r = view.request
        self._changed(view)
        if self._shown(view, CARD):
            await self._unit(view, "card", CARD_EDIT)
            template = sentences.THREAD_NOTES.get(event.kind)
            if event.kind == EventKind.EXECUTING and r.break_glass is not None:
                template = sentences.BREAK_GLASS_EXECUTING
            if template:
                note = template.format(
                    actor=event.actor,
                    requester=r.requester_id,
                    note=escape(event.note or ""),
                    status_emoji=STATUS_EMOJI[r.status],
                )
                await self._unit(view, f"thread_{event.kind.value}", THREAD, note)
            if event.kind == EventKind.FINISHED:
                for n, chunk in enumerate(results_thread(view)):
                    await self._unit(view, f"results_{n}", THREAD, chunk)
                delivery = self._deliveries.get(r.id)
                if delivery is not None and not delivery.reached:
                    await self._unit(
                        view, "thread_undelivered", THREAD, self._undelivered_line(view, delivery)
                    )
        await self._unit(view, "requester_status", REQUESTER_STATUS)
        requester_note = sentences.REQUESTER_NOTES.get(event.kind)
        if requester_note and event.actor != r.requester_id:
            text = requester_note.format(id=r.id, actor=event.actor, note=escape(event.note or ""))
            await self._tell_requester(view, f"requester_{event.kind.value}", text)
        await self._audit(
            view, event.kind.value, sentences.event_audit(r.id, event.kind, event.actor, event.note)
        )

    def _thread(self, text: str) -> Callable[[RequestView], Awaitable[None]]:
        async def send(v: RequestView) -> None:
            card = self._ref(v, CARD)
            if card:
                await self._post(card.channel_id, text, thread_ts=card.message_ts)

        return send

    async def _update_card(self, view: RequestView) -> None:
        card = self._ref(view, CARD)
        if not card:
            return
        blocks = approval_card(view)
        delivery = self._deliveries.get(view.request.id)
        if delivery is not None:
            blocks.append(context(self._delivery_line(view, delivery)))
        try:
            await self.client.chat_update(
                channel=card.channel_id, ts=card.message_ts, text=card_text(view), blocks=blocks
            )
        except Exception as exc:
            if classify(exc).kind != RefusalKind.MESSAGE_GONE:
                raise
            # Someone deleted the card: post it again so it still shows what happened (once, whichever
            # replicas found it gone).
            await self._new_card(view, card.channel_id, blocks, f"card_again:{card.message_ts}")

    async def _update_dm(self, view: RequestView) -> None:
        dm = self._ref(view, DM)
        if dm:
            await self.client.chat_update(
                channel=dm.channel_id,
                ts=dm.message_ts,
                text=f"Request #{view.request.id}",
                blocks=requester_status(view),
            )

    async def _tell_requester(self, view: RequestView, unit: str, text: str) -> None:
        await self._unit(view, unit, TO_REQUESTER, text)

    def _dm_line(self, user_id: str | None, text: str) -> Send:
        """A line in the bot's DM with `user_id` (None: the request's requester)."""

        async def send(v: RequestView) -> None:
            await self._post(await self.dm_channel(user_id or v.request.requester_id), text)

        return send

    async def _post_break_glass_card(self, v: RequestView) -> None:
        """A break-glass card: posted whatever the request's state (it runs without waiting for anyone)."""
        if v.approvers_channel is not None and not self._shown(v, CARD):
            await self._new_card(v, v.approvers_channel, approval_card(v))

    def _to_audit(self, text: str) -> Send:
        async def send(_: RequestView) -> None:
            if self.audit_channel:
                await self._post(self.audit_channel, text)

        return send

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> Delivered:
        """The ephemeral copy, then the Reveal offer (the reliable path). Returns whether either reached
        the requester; an offer refused for a reason that may pass is offered again by the sweeper while
        the sealed copy lives."""
        r = view.request
        self._changed(view)
        why: list[str] = []
        ephemeral = True
        try:
            channel = await self.dm_channel(r.requester_id)
            for blocks in ephemeral_passwords(r.id, secrets):
                await self.client.chat_postEphemeral(
                    channel=channel,
                    user=r.requester_id,
                    text=sentences.passwords_ephemeral(r.id),
                    blocks=blocks,
                )
        except Exception as exc:  # not guaranteed anyway: the Reveal button below is the reliable path
            ephemeral = False
            refusal = classify(exc)
            why.append(f"the private copy: {refusal.error}")
            log.warning("ephemeral delivery for request #%d failed: %s", r.id, refusal.error)

        async def offer(v: RequestView) -> None:
            await self._offer(v, reveal_token, reveal_expires_at)

        left = max((reveal_expires_at - self.clock.now()).total_seconds(), 0.0)
        refused = await self._unit(view, "reveal_offer", REVEAL_OFFER, send=offer, matters_for_s=left)
        for wait_s in OFFER_RETRIES_S:  # a rate limit or a blip passes: do not call it undelivered yet
            if refused is None or refused.kind != RefusalKind.RETRY_LATER:
                break
            await asyncio.sleep(wait_s)
            refused = await self._unit(view, "reveal_offer", REVEAL_OFFER, send=offer, matters_for_s=left)
        if refused is not None:
            why.append(f"the Reveal offer: {refused.error}")
        delivery = Delivery(ephemeral, refused is None, "; ".join(why))
        self._deliveries[r.id] = delivery
        if not delivery.reached:
            PASSWORDS_UNDELIVERED.inc()
            log.error(
                "password(s) of request #%d reached nobody (%s); the Reveal is offered again while it lives",
                r.id,
                delivery.why,
            )
        return Delivered(self._take_sent(r.id), delivery.reached)

    async def _offer(self, v: RequestView, token: str, expires_at: datetime, *, again: bool = False) -> None:
        r = v.request
        channel = await self.dm_channel(r.requester_id)
        ref = await self._post(channel, sentences.reveal_ready(r.id), reveal_offer(r.id, token, expires_at))
        self._remember(r.id, REVEAL, ref)
        # Offered again and unknown here (another replica delivered, or before a restart): it was owed
        # because the offer had not reached.
        if again and not self._deliveries.get(r.id, Delivery(False, False)).reached:
            # Offered late by the sweeper: the card now says the password can be fetched.
            self._deliveries[r.id] = Delivery(False, True)
            await self._unit(v, "card", CARD_EDIT)
            await self._unit(v, "thread_offered", THREAD, sentences.offer_reached_late(r.requester_id))

    async def _offer_again(self, v: RequestView) -> None:
        """The Reveal offer owed since an earlier refusal, while the password can still be revealed."""
        found = await self.ledger.reveal_offer_of(v.request.id, self.clock.now())
        if found is not None:
            await self._offer(v, *found, again=True)

    def _delivery_line(self, view: RequestView, delivery: Delivery) -> str:
        if not delivery.reached:
            return self._undelivered_line(view, delivery)
        return sentences.delivered(view.request.requester_id, delivery.ephemeral, delivery.offer)

    @staticmethod
    def _undelivered_line(view: RequestView, delivery: Delivery) -> str:
        return sentences.undelivered(view.request.requester_id, delivery.why)

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        r = view.request
        if r.status not in OPEN_STATUSES:
            return {}
        sent: dict[str, MessageRef] = {}
        if not self._shown(view, DM):
            log.info("request #%d has no DM to its requester yet; sending it", r.id)
            sent.update(await self.request_submitted(view))
        if r.status == RequestStatus.PENDING and not self._shown(view, CARD):
            log.info("request #%d has no approval card yet; posting it again", r.id)
            sent.update(await self.request_ready(view))
        sent.update(self._take_sent(r.id))
        return sent

    async def remind_approvers(self, view: RequestView) -> None:
        if self._shown(view, CARD):
            await self._unit(view, "reminder", THREAD, sentences.still_waiting(view.request.id))

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        """The card first (the reset waits a moment for it, so approvers see it before it runs), then a
        DM to each approver, the requester's status and the audit channel; each its own unit. Called
        again when recovery takes the run over: a card shown means this went out already (its ref is
        kept after the whole announcement), so nothing is sent twice."""
        r = view.request
        if self._shown(view, CARD):
            return {}
        self._changed(view)
        channel_id = view.approvers_channel
        if channel_id is not None:
            await self._unit(view, "card_post", BREAK_GLASS_CARD)
        else:
            log.error("no approvers channel for target %s; break-glass #%d has no card", r.target, r.id)
        text = sentences.break_glass_dm(
            r.id, r.target, r.requester_id, len(view.resettable), r.reason, channel_id
        )
        for approver in approvers:
            await self._unit(view, f"break_glass_dm_{approver}", f"{TO_USER}{approver}", text)
        await self._unit(view, "requester_status", REQUESTER_STATUS)
        await self._audit(
            view,
            "break_glass",
            sentences.break_glass_audit(r.id, r.target, r.requester_id, len(view.resettable), r.reason),
        )
        return self._take_sent(r.id)

    async def remind_review(self, view: RequestView, approvers: Sequence[str]) -> None:
        r = view.request
        if self._shown(view, CARD):
            text = sentences.review_reminder(r.id, r.requester_id, r.created_at, list(approvers))
            await self._unit(view, "review_reminder", THREAD, text)
        await self._audit(
            view, "review_reminder", sentences.review_reminder_audit(r.id, r.target, r.requester_id)
        )

    async def _audit(self, view: RequestView, what: str, line: str) -> None:
        if self.audit_channel:
            await self._unit(view, f"audit_{what}", AUDIT, line)
