"""Requests from this workspace only: the team (and enterprise) must be the one `auth.test` reported.

A signing secret proves a request came from Slack for this app, not from this workspace: an app
installed elsewhere, or a user of another organisation in a shared channel, would otherwise reach
the listeners. Bolt's authorization step calls `auth.test` once; this compares every request with it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


def foreign_party(context: AsyncBoltContext) -> str | None:
    """What in this request is not of the installed workspace, or None when all of it is."""
    installed = context.authorize_result
    if installed is None:
        return "no installation to compare with"
    if installed.team_id is not None:
        for kind, team in (("team", context.team_id), ("user's team", context.actor_team_id)):
            if team is not None and team != installed.team_id:
                return f"{kind} {team}"
        if context.team_id is None:
            return "no team"
    if context.enterprise_id != installed.enterprise_id:
        return f"enterprise {context.enterprise_id}"
    actor_enterprise = context.actor_enterprise_id
    if actor_enterprise is not None and actor_enterprise != installed.enterprise_id:
        return f"user's enterprise {actor_enterprise}"
    return None


async def only_this_workspace(
    context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    """Bolt middleware: a request of another workspace or enterprise is answered 403 and logged."""
    foreign = foreign_party(context)
    if foreign is None:
        await next()
        return None
    installed = context.authorize_result
    log.warning(
        "refused a request of %s (installed in team %s, enterprise %s; user %s)",
        foreign,
        installed.team_id if installed else None,
        installed.enterprise_id if installed else None,
        context.user_id,
    )
    return BoltResponse(status=403, body="")
