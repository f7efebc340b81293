"""A request's notices from submission to its end: the requester's DM and its status, the approvers'
card (posted once across replicas, posted again if deleted), its thread notes, reminders."""

from __future__ import annotations

import functools

from slack_sdk.models.blocks import Block

from bot.slack import sentences
from bot.slack.blocks.card import approval_card, card_text, results_thread
from bot.slack.blocks.common import STATUS_EMOJI, context, escape
from bot.slack.blocks.dm import requester_status
from bot.slack.notices.delivery import PasswordDelivery
from bot.slack.notices.units import (
    CARD,
    CARD_EDIT,
    DM,
    POST_CARD,
    REQUESTER_DM,
    REQUESTER_STATUS,
    THREAD,
    TO_REQUESTER,
    Send,
    log,
)
from bot.slack.refusals import RefusalKind, classify
from bot.workflow import (
    OPEN_STATUSES,
    EventKind,
    MessageRef,
    RequestStatus,
    RequestView,
    SentMessages,
    WorkflowEvent,
)


class RequestNotices(PasswordDelivery):
    """The notices of a request's life; the final card also says what of its password delivery reached."""

    @functools.cached_property
    def _told_unusable(self) -> set[int]:
        """Requests whose requester was told the approvers' channel refused the card (made on first use)."""
        return set()

    def _drawn(self, route: str) -> Send | None:
        routes: dict[str, Send] = {
            POST_CARD: self._post_card,
            REQUESTER_DM: self._requester_dm,
            REQUESTER_STATUS: self._update_dm,
            CARD_EDIT: self._update_card,
        }
        return routes.get(route) or super()._drawn(route)

    async def request_submitted(self, view: RequestView) -> SentMessages:
        r = view.request
        self._changed(view)
        await self._unit(view, "requester_dm", REQUESTER_DM)
        await self._audit(
            view, "submitted", sentences.submitted_audit(r.id, r.requester_id, r.target, len(view.servers))
        )
        return self._take_sent(r.id)

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
