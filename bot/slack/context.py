"""What every Slack listener needs, handed to each surface's register() in one object."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.notifier import SlackNotifier
from bot.workflow import TaskKeeper, Workflow

ACK_BUDGET_S = 2.0
"""How long a listener may work before it must answer Slack (3 s) with what it has."""


@dataclass(frozen=True)
class SlackContext:
    workflow: Workflow
    notifier: SlackNotifier
    tasks: TaskKeeper
