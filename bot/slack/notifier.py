"""Slack's side of the workflow's Notifier: cards, DMs, thread replies, and the private delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import MessageRef, RequestStatus
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
    RequestView,
    SentMessages,
    WorkflowEvent,
)

log = logging.getLogger(__name__)

RETRY_FOR_S = 24 * 3600.0
"""A failed notice is sent again for up to a day; after that it no longer matters."""
RETRY_MAX_WAIT_S = 300.0
OFFER_RETRIES_S = (1.0, 2.0, 4.0)
"""The Reveal offer refused for a passing reason is tried again after these waits before the password
is declared undelivered (it is still offered later by the sweeper either way)."""
"""Backoff between attempts doubles from 2 s up to this."""

CARD, DM, REVEAL = "card", "dm", "reveal"


@dataclass
class _Pending:
    """A notice unit that failed, kept for the sweeper to send again from the request's latest view."""

    request_id: int
    unit: str
    event: WorkflowEvent | None
    send: Callable[[RequestView], Awaitable[None]]
    until: float
    """monotonic time after which it no longer matters."""
    attempts: int = 1
    next_at: float = 0.0


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
    that may pass (rate limit, outage, a channel the operator must fix) waits in `_pending` and the
    sweeper's `retry_failed` sends it again, drawn from the request's latest state, until it lands or no
    longer matters.
    """

    def __init__(self, client: AsyncWebClient, *, audit_channel: str | None = None) -> None:
        self.client = client
        self.audit_channel = audit_channel
        # Posted by this process and not yet handed to the workflow (late posts: retries, a re-posted
        # card), and the newest ref per message, read before the view's (which may lag behind).
        self._sent: dict[int, dict[str, MessageRef]] = {}
        self._moved: dict[tuple[int, str], MessageRef] = {}
        self._dm_channels: dict[str, str] = {}
        self._pending: dict[tuple[int, str], _Pending] = {}
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
        send: Callable[[RequestView], Awaitable[None]],
        event: WorkflowEvent | None = None,
        *,
        matters_for_s: float = RETRY_FOR_S,
    ) -> Refusal | None:
        """Sends one notice; a refusal is counted, logged, and kept for the sweeper when retrying helps.
        Returns the refusal, or None when it landed."""
        key = (view.request.id, unit)
        try:
            await send(view)
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
                earlier = self._pending.get(key)
                now = time.monotonic()
                attempts = earlier.attempts + 1 if earlier else 1
                self._pending[key] = _Pending(
                    view.request.id,
                    unit,
                    event,
                    send,
                    until=earlier.until if earlier else now + matters_for_s,
                    attempts=attempts,
                    next_at=now + min(2.0**attempts, RETRY_MAX_WAIT_S),
                )
            return refusal
        self._pending.pop(key, None)
        return None

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        """Sends again every failed notice that is due, from its request's latest view; drops those that
        no longer matter (their time is up, or the request is gone). Returns what it posted anew."""
        now = time.monotonic()
        for key, pending in list(self._pending.items()):
            if pending.until <= now:
                log.warning(
                    "gave up on notice %s of request #%d after %d attempts",
                    pending.unit,
                    pending.request_id,
                    pending.attempts,
                )
                del self._pending[key]
                continue
            if pending.next_at > now:
                continue
            view = await load(pending.request_id)
            if view is None:
                del self._pending[key]
                continue
            await self._unit(view, pending.unit, pending.send, pending.event)
        sent, self._sent = self._sent, {}
        return sent

    # -- what the workflow calls ------------------------------------------------------------------------

    async def request_submitted(self, view: RequestView) -> SentMessages:
        r = view.request
        self._changed(view)

        async def dm(v: RequestView) -> None:
            if self._shown(v, DM):
                return
            channel = await self.dm_channel(r.requester_id)
            # Sent late (ensure_shown) the request may be past its pre-flight: the preview says where it is.
            checking = v.request.status == RequestStatus.PREFLIGHT
            ref = await self._post(channel, sentences.received(r.id, checking), requester_status(v))
            self._remember(r.id, DM, ref)

        await self._unit(view, "requester_dm", dm)
        await self._audit(
            view, "submitted", sentences.submitted_audit(r.id, r.requester_id, r.target, len(view.servers))
        )
        return self._take_sent(r.id)

    async def request_ready(self, view: RequestView) -> SentMessages:
        r = view.request
        self._changed(view)
        if view.approvers_channel is None:
            log.error("no approvers channel for target %s; request #%d cannot be shown", r.target, r.id)
            return {}
        channel_id = view.approvers_channel

        async def post_card(v: RequestView) -> None:
            if self._shown(v, CARD) or v.request.status != RequestStatus.PENDING:
                return  # shown meanwhile (the sweeper's ensure_shown), or it no longer matters
            self._remember(r.id, CARD, await self._post(channel_id, card_text(v), approval_card(v)))
            if r.id in self._told_unusable:
                self._told_unusable.discard(r.id)
                await self._tell_requester(
                    v, "approvers_reachable", sentences.approvers_reachable(r.id, channel_id)
                )

        refusal = await self._unit(view, "card_post", post_card)
        unusable = refusal is not None and refusal.kind == RefusalKind.OPERATOR_MUST_FIX
        if refusal is not None and unusable and r.id not in self._told_unusable:
            # The requester must not wait until the expiry in silence meanwhile.
            self._told_unusable.add(r.id)
            await self._tell_requester(
                view,
                "approvers_unreachable",
                sentences.approvers_unreachable(r.id, channel_id, refusal.operator_sentence(), r.expires_at),
            )
        await self._unit(view, "requester_status", self._update_dm)
        return self._take_sent(r.id)

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None:
        r = view.request
        self._changed(view)
        if self._shown(view, CARD):
            await self._unit(view, "card", self._update_card)
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
                await self._unit(view, f"thread_{event.kind.value}", self._thread(note), event)
            if event.kind == EventKind.FINISHED:
                for n, chunk in enumerate(results_thread(view)):
                    await self._unit(view, f"results_{n}", self._thread(chunk), event)
                delivery = self._deliveries.get(r.id)
                if delivery is not None and not delivery.reached:
                    await self._unit(
                        view,
                        "thread_undelivered",
                        self._thread(self._undelivered_line(view, delivery)),
                        event,
                    )
        await self._unit(view, "requester_status", self._update_dm)
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
            # Someone deleted the card: post it again so it still shows what happened.
            self._remember(view.request.id, CARD, await self._post(card.channel_id, card_text(view), blocks))

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
        async def send(v: RequestView) -> None:
            await self._post(await self.dm_channel(v.request.requester_id), text)

        await self._unit(view, unit, send)

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
            channel = await self.dm_channel(r.requester_id)
            ref = await self._post(
                channel,
                sentences.reveal_ready(r.id),
                reveal_offer(r.id, reveal_token, reveal_expires_at),
            )
            self._remember(r.id, REVEAL, ref)
            if not self._deliveries.get(r.id, Delivery(True, True)).reached:
                # Offered late by the sweeper: the card now says the password can be fetched.
                self._deliveries[r.id] = Delivery(False, True)
                await self._unit(v, "card", self._update_card)
                await self._unit(
                    v,
                    "thread_offered",
                    self._thread(sentences.offer_reached_late(r.requester_id)),
                )

        left = max((reveal_expires_at - datetime.now(UTC)).total_seconds(), 0.0)
        refused = await self._unit(view, "reveal_offer", offer, matters_for_s=left)
        for wait_s in OFFER_RETRIES_S:  # a rate limit or a blip passes: do not call it undelivered yet
            if refused is None or refused.kind != RefusalKind.RETRY_LATER:
                break
            await asyncio.sleep(wait_s)
            refused = await self._unit(view, "reveal_offer", offer, matters_for_s=left)
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
            await self._unit(
                view,
                "reminder",
                self._thread(sentences.still_waiting(view.request.id)),
            )

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        """The card first (the reset waits a moment for it, so approvers see it before it runs), then a
        DM to each approver, the requester's status and the audit channel; each its own unit."""
        r = view.request
        self._changed(view)
        channel_id = view.approvers_channel
        if channel_id is not None:

            async def post_card(v: RequestView) -> None:
                if not self._shown(v, CARD):
                    self._remember(r.id, CARD, await self._post(channel_id, card_text(v), approval_card(v)))

            await self._unit(view, "card_post", post_card)
        else:
            log.error("no approvers channel for target %s; break-glass #%d has no card", r.target, r.id)
        text = sentences.break_glass_dm(
            r.id, r.target, r.requester_id, len(view.resettable), r.reason, channel_id
        )
        for approver in approvers:

            async def dm(v: RequestView, user: str = approver) -> None:
                await self._post(await self.dm_channel(user), text)

            await self._unit(view, f"break_glass_dm_{approver}", dm)
        await self._unit(view, "requester_status", self._update_dm)
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
            await self._unit(view, "review_reminder", self._thread(text))
        await self._audit(
            view, "review_reminder", sentences.review_reminder_audit(r.id, r.target, r.requester_id)
        )

    async def _audit(self, view: RequestView, what: str, line: str) -> None:
        channel = self.audit_channel
        if channel:

            async def send(_: RequestView) -> None:
                await self._post(channel, line)

            await self._unit(view, f"audit_{what}", send)
