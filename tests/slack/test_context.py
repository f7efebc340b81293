"""The bot's `SlackContext` reaches listeners only through the middleware `bot.slack.register` wires."""

from __future__ import annotations

import pytest
from slack_bolt.async_app import AsyncBoltContext

from bot.slack.context import slack_context


def test_a_listener_reached_without_the_middleware_fails_loudly() -> None:
    """Every listener test goes through the middleware; a listener wired around it is a bug, said so."""
    with pytest.raises(RuntimeError, match="register"):
        slack_context(AsyncBoltContext())
    with pytest.raises(RuntimeError):
        slack_context(AsyncBoltContext({"ecs_reset_bot": "not a SlackContext"}))
