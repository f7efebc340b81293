"""Slack's side of the workflow's Notifier: cards, DMs, thread replies, and the private delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import MessageRef, RequestStatus
from bot.slack.blocks.card import approval_card, card_text, results_thread
from bot.slack.blocks.common import STATUS_EMOJI, escape
from bot.slack.blocks.dm import ephemeral_passwords, requester_status, reveal_offer
from bot.workflow import OPEN_STATUSES, DeliveredSecret, EventKind, RequestView, SentMessages, WorkflowEvent

log = logging.getLogger(__name__)

CARD, DM, REVEAL = "card", "dm", "reveal"

THREAD_NOTES: dict[EventKind, str] = {
    EventKind.APPROVED_BY: ":white_check_mark: Approved by <@{actor}>.",
    EventKind.DENIED: ":no_entry: Denied by <@{actor}>. {note}",
    EventKind.CANCELLED: ":heavy_minus_sign: Cancelled by <@{actor}>.",
    EventKind.EXPIRED: ":alarm_clock: Expired before enough approvals; <@{requester}> can submit it again.",
    EventKind.EXECUTING: ":gear: Approved; resetting now.",
    EventKind.RECOVERED: ":recycle: The bot restarted during this reset and is finishing it.",
    EventKind.FINISHED: "{status_emoji} {note}",
    EventKind.PREFLIGHT_FAILED: ":red_circle: Pre-flight failed: {note}",
}
REQUESTER_NOTES: dict[EventKind, str] = {
    EventKind.DENIED: ":no_entry: Your request #{id} was denied by <@{actor}>. {note}",
    EventKind.EXPIRED: ":alarm_clock: Your request #{id} expired before it was approved.",
    EventKind.FINISHED: "Your request #{id} is finished: {note}",
    EventKind.PREFLIGHT_FAILED: ":red_circle: Your request #{id} cannot run: {note}",
}


class SlackNotifier:
    """Every Slack write the workflow causes. Each method that posts returns where its messages went
    (`CARD`, `DM`, `REVEAL`), which the workflow keeps in the request's `message_refs`."""

    def __init__(self, client: AsyncWebClient, *, audit_channel: str | None = None) -> None:
        self.client = client
        self.audit_channel = audit_channel
        self._dm_channels: dict[str, str] = {}

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

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

    async def request_submitted(self, view: RequestView) -> SentMessages:
        r = view.request
        channel = await self.dm_channel(r.requester_id)
        # Sent late (ensure_shown) the request may be past its pre-flight: the preview says where it is.
        doing = (
            "checking it with the cloud" if r.status == RequestStatus.PREFLIGHT else "waiting for approval"
        )
        dm = await self._post(channel, f"Request #{r.id} received; {doing}.", requester_status(view))
        await self._audit(
            f"#{r.id} submitted by <@{r.requester_id}> for {r.target} ({len(view.servers)} servers)"
        )
        return {DM: dm}

    async def request_ready(self, view: RequestView) -> SentMessages:
        r = view.request
        if view.approvers_channel is None:
            log.error("no approvers channel for target %s; request #%d cannot be shown", r.target, r.id)
            return {}
        card = await self._post(view.approvers_channel, card_text(view), approval_card(view))
        try:
            await self._update_dm(view)
        except Exception as exc:  # the card is up: its ref must reach the store, or it is posted again
            log.error("the DM of request #%d could not be updated: %s", r.id, exc)
        return {CARD: card}

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None:
        r = view.request
        card = r.message_refs.get(CARD)
        if card:
            await self.client.chat_update(
                channel=card.channel_id, ts=card.message_ts, text=card_text(view), blocks=approval_card(view)
            )
            template = THREAD_NOTES.get(event.kind)
            if template:
                note = template.format(
                    actor=event.actor,
                    requester=r.requester_id,
                    note=escape(event.note or ""),
                    status_emoji=STATUS_EMOJI[r.status],
                )
                await self._post(card.channel_id, note, thread_ts=card.message_ts)
            if event.kind == EventKind.FINISHED:
                for chunk in results_thread(view):
                    await self._post(card.channel_id, chunk, thread_ts=card.message_ts)
        await self._update_dm(view)
        requester_note = REQUESTER_NOTES.get(event.kind)
        if requester_note and event.actor != r.requester_id:
            channel = await self.dm_channel(r.requester_id)
            await self._post(
                channel, requester_note.format(id=r.id, actor=event.actor, note=escape(event.note or ""))
            )
        await self._audit(f"#{r.id} {event.kind.value}" + (f" by <@{event.actor}>" if event.actor else ""))

    async def _update_dm(self, view: RequestView) -> None:
        dm = view.request.message_refs.get(DM)
        if dm:
            await self.client.chat_update(
                channel=dm.channel_id,
                ts=dm.message_ts,
                text=f"Request #{view.request.id}",
                blocks=requester_status(view),
            )

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> SentMessages:
        r = view.request
        channel = await self.dm_channel(r.requester_id)
        try:
            for blocks in ephemeral_passwords(r.id, secrets):
                await self.client.chat_postEphemeral(
                    channel=channel,
                    user=r.requester_id,
                    text=f"New password(s) for request #{r.id}",
                    blocks=blocks,
                )
        except Exception as exc:  # not guaranteed anyway: the Reveal button below is the reliable path
            log.warning("ephemeral delivery for request #%d failed: %s", r.id, exc)
        offer = await self._post(
            channel,
            f"Your new password for request #{r.id} is ready to reveal once.",
            reveal_offer(r.id, reveal_token, reveal_expires_at),
        )
        return {REVEAL: offer}

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        r = view.request
        sent: dict[str, MessageRef] = {}
        if r.status not in OPEN_STATUSES:
            return sent
        if DM not in r.message_refs:
            log.info("request #%d has no DM to its requester yet; sending it", r.id)
            sent.update(await self.request_submitted(view))
        if r.status == RequestStatus.PENDING and CARD not in r.message_refs:
            log.info("request #%d has no approval card yet; posting it again", r.id)
            try:
                sent.update(await self.request_ready(view))
            except Exception:
                if not sent:
                    raise
                log.exception("request #%d: the DM went out, the card did not (next sweep)", r.id)
        return sent

    async def remind_approvers(self, view: RequestView) -> None:
        card = view.request.message_refs.get(CARD)
        if card:
            await self._post(
                card.channel_id,
                f":bell: Request #{view.request.id} is still waiting for approval.",
                thread_ts=card.message_ts,
            )

    async def _audit(self, line: str) -> None:
        if self.audit_channel:
            try:
                await self._post(self.audit_channel, line)
            except Exception as exc:
                log.warning("audit channel post failed: %s", exc)
