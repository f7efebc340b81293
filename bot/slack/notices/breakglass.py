"""A break-glass's notices: its card (whatever the request's state), a DM to each approver, the review
reminder; it runs without waiting for anyone, so everyone is told."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack import sentences
from bot.slack.blocks.card import approval_card
from bot.slack.notices.lifecycle import RequestNotices
from bot.slack.notices.units import (
    AUDIT,
    BREAK_GLASS_CARD,
    CARD,
    REQUESTER_STATUS,
    THREAD,
    TO_USER,
    Send,
    log,
)
from bot.workflow import RequestView, SentMessages


class BreakGlassNotices(RequestNotices):
    """Tells approvers of a reset that did not wait for them, and reminds them to review it."""

    def _drawn(self, route: str) -> Send | None:
        return self._post_break_glass_card if route == BREAK_GLASS_CARD else super()._drawn(route)

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        """The card first (the reset waits a moment for it, so approvers see it before it runs), then a
        DM to each approver, the requester's status and the audit channel; each its own unit, owed in the
        ledger before it is sent, so a process that stops with the announcement unsent (Slack hanging,
        the run finished meanwhile) leaves it to the next sweep of any replica. Called again when
        recovery takes the run over: a card shown means this went out already (its ref is kept after
        the whole announcement), so nothing is sent twice."""
        r = view.request
        if self._shown(view, CARD):
            return {}
        self._changed(view)
        channel_id = view.approvers_channel
        text = sentences.break_glass_dm(
            r.id, r.target, r.requester_id, len(view.resettable), r.reason, channel_id
        )
        audit = sentences.break_glass_audit(r.id, r.target, r.requester_id, len(view.resettable), r.reason)
        units: list[tuple[str, str, str | None]] = []
        if channel_id is not None:
            units.append(("card_post", BREAK_GLASS_CARD, None))
        else:
            log.error("no approvers channel for target %s; break-glass #%d has no card", r.target, r.id)
        units += [(f"break_glass_dm_{approver}", f"{TO_USER}{approver}", text) for approver in approvers]
        units.append(("requester_status", REQUESTER_STATUS, None))
        if self.audit_channel:
            units.append(("audit_break_glass", AUDIT, audit))
        await self._owe_ahead(view, units)
        for unit, route, line in units:
            await self._unit(view, unit, route, line)
        return self._take_sent(r.id)

    async def _post_break_glass_card(self, v: RequestView) -> None:
        """A break-glass card: posted whatever the request's state (it runs without waiting for anyone)."""
        if v.approvers_channel is not None and not self._shown(v, CARD):
            await self._new_card(v, v.approvers_channel, approval_card(v))

    async def remind_review(self, view: RequestView, approvers: Sequence[str]) -> None:
        r = view.request
        if self._shown(view, CARD):
            text = sentences.review_reminder(r.id, r.requester_id, r.created_at, list(approvers))
            await self._unit(view, "review_reminder", THREAD, text)
        await self._audit(
            view, "review_reminder", sentences.review_reminder_audit(r.id, r.target, r.requester_id)
        )
