"""The Slack front end: listeners per surface, Block Kit builders, and the Notifier for the workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.slack import again, approvals, breakglass, commands, delivery, home, requests, shortcuts, usergroups
from bot.slack.context import SlackContext, attach
from bot.slack.workspace import only_this_workspace


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Wires every surface; reading this is reading the list of what the bot answers to."""

    @app.middleware
    async def bot_context(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        # Bolt builds a plain client per request; listeners use the bot's one, whose refusals are watched.
        context["client"] = ctx.notifier.client
        attach(context, ctx)  # listeners read it with bot.slack.context.slack_context(context)
        await next()

    app.middleware(only_this_workspace)
    commands.register(app)
    requests.register(app)
    approvals.register(app)
    delivery.register(app)
    usergroups.register(app)
    shortcuts.register(app)
    again.register(app)
    home.register(app)
    breakglass.register(app)
