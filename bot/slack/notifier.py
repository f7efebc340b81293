"""Slack's side of the workflow's Notifier: cards, DMs, thread replies, and the private delivery.

The facade over `bot/slack/notices/`, one module per concept; this import path stays the notifier's."""

from __future__ import annotations

from bot.slack.notices.breakglass import BreakGlassNotices
from bot.slack.notices.delivery import Delivery
from bot.slack.notices.units import CARD, DM, REVEAL

__all__ = ["CARD", "DM", "REVEAL", "Delivery", "SlackNotifier"]


class SlackNotifier(BreakGlassNotices):
    """Every Slack write the workflow causes; message locations are kept in the request's refs.

    Each notice is its own unit (the card, its thread note, the requester's DM status, the requester's
    message, the audit channel): one refused call never skips the others. A unit refused for a reason
    that may pass (rate limit, outage, a channel the operator must fix) is owed in the `ledger` (the
    store: it outlives this process), and the sweeper's `retry_failed` on one replica sends it again,
    drawn from the request's latest state or its text, until it lands or no longer matters.

    Its parts, each extending the one before: `NoticeUnits` (sending, owing, message refs),
    `PasswordDelivery`, `RequestNotices` (the request's life), `BreakGlassNotices`.
    """
