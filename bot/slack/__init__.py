"""The Slack front end: listeners per surface, Block Kit builders, and the Notifier for the workflow."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import approvals, commands, delivery, requests
from bot.slack.context import SlackContext


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Wires every surface; reading this is reading the list of what the bot answers to."""
    commands.register(app, ctx)
    requests.register(app, ctx)
    approvals.register(app, ctx)
    delivery.register(app, ctx)
