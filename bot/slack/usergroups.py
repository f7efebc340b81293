"""Slack's user-group events: a change to a group's members drops what the bot knew of that group."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.slack.context import slack_context

log = logging.getLogger(__name__)


def changed_group(event: dict[str, Any]) -> str | None:
    """The group ID a `subteam_members_changed` or `subteam_updated` event is about, if it names one."""
    group_id = event.get("subteam_id") or (event.get("subteam") or {}).get("id")
    return str(group_id) if group_id else None


def register(app: AsyncApp) -> None:
    app.event("subteam_members_changed")(group_changed)
    app.event("subteam_updated")(group_changed)


async def group_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
    group_id = changed_group(event)
    if group_id:
        log.info("user group %s changed (%s): its members are read again", group_id, event.get("type"))
        slack_context(context).workflow.group_changed(group_id)
