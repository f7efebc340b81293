"""What every Slack listener needs, in one object that Bolt's context carries to each listener.

Listeners are module-level functions (a surface's `register(app)` is a table of them); the one
middleware in `bot/slack/__init__.py` attaches the bot's `SlackContext` to every request, and a listener
that declares a `context` argument reads it back with `slack_context(context)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.context.async_context import AsyncBoltContext

from bot.clock import Clock
from bot.slack.home_publisher import HomePublisher
from bot.slack.notifier import SlackNotifier
from bot.workflow import TaskKeeper, Workflow

ACK_BUDGET_S = 2.0
"""How long a listener may work before it must answer Slack (3 s) with what it has."""

_KEY = "ecs_reset_bot"
"""Where in Bolt's per-request context the bot's `SlackContext` lies (Bolt's own keys are plain words)."""


@dataclass(frozen=True)
class SlackContext:
    workflow: Workflow
    notifier: SlackNotifier
    tasks: TaskKeeper
    home: HomePublisher
    clock: Clock
    """The runtime's one clock (the workflow's, the notifier's, the Home publisher's): what a listener
    shows as "now", e.g. when a password was revealed, so tests move it instead of sleeping."""


def attach(context: AsyncBoltContext, ctx: SlackContext) -> None:
    """Hands the bot's `SlackContext` to the listeners of this request (called by the middleware)."""
    context[_KEY] = ctx


def slack_context(context: AsyncBoltContext) -> SlackContext:
    """The bot's `SlackContext` for a listener; a listener reached without the middleware is a bug."""
    ctx = context.get(_KEY)
    if not isinstance(ctx, SlackContext):
        raise RuntimeError("no SlackContext in this request: bot.slack.register() wires the middleware")
    return ctx
