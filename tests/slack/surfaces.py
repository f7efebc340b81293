"""Signed payloads of the surfaces beyond commands and clicks: shortcuts and Events API callbacks.

Built on `SlackRequests` as Slack shapes them (docs.slack.dev: "shortcut" and "message_action"
interaction payloads, "event_callback" envelopes), so Bolt's own parsing and signature check run.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.demo import World
from bot.simulator.slack import SignedRequest, SlackCall

JsonDict = dict[str, Any]


def global_shortcut(world: World, user_id: str, callback_id: str) -> SignedRequest:
    requests = world.requests
    payload = requests._base("shortcut", user_id)
    payload.update(
        callback_id=callback_id,
        trigger_id=requests._trigger(None, user_id),
        action_ts=f"{time.time():.6f}",
    )
    return requests.interaction(payload)


def message_shortcut(
    world: World, user_id: str, callback_id: str, message: JsonDict, channel_id: str = "C0GENERAL"
) -> SignedRequest:
    requests = world.requests
    payload = requests._base("message_action", user_id)
    ts = str(message.get("ts") or f"{time.time():.6f}")
    payload.update(
        callback_id=callback_id,
        trigger_id=requests._trigger(None, user_id),
        action_ts=f"{time.time():.6f}",
        message_ts=ts,
        channel={"id": channel_id, "name": "alerts"},
        message={"type": "message", "ts": ts, **message},
        response_url=requests._response_url(None, channel_id, user_id, ts),
    )
    return requests.interaction(payload)


def event_callback(world: World, event: JsonDict) -> SignedRequest:
    """An Events API delivery (JSON body, signed like every request)."""
    requests = world.requests
    body = json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": requests.team_id,
            "api_app_id": requests.api_app_id,
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": requests.team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
    ).encode()
    headers = {**requests.sign(body), "Content-Type": "application/json"}
    return SignedRequest(body, headers)


def url_verification(world: World, challenge: str) -> SignedRequest:
    body = json.dumps(
        {"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"}
    )
    raw = body.encode()
    return SignedRequest(raw, {**world.requests.sign(raw), "Content-Type": "application/json"})


async def opened_view(world: World, user_id: str, since: int) -> tuple[SlackCall, JsonDict]:
    """The next views.open for `user_id` since call `since`, and the view as Slack stored it."""
    call = await world.slack.wait_for("views.open", lambda c: True, 10.0, since=since)
    assert call.ok, call.response
    opened = world.slack.open_views(user_id)
    assert opened, "no modal open"
    return call, world.slack.view_payload(opened[-1].id)
