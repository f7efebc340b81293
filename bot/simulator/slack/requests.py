"""What Slack sends the bot: slash commands, interactions and Events API callbacks, signed as Slack signs.

`SlackRequests` builds slash commands, interaction payloads (clicks, modal submissions, options
requests, shortcuts) and Events API callbacks, with the ``v0`` HMAC signature Bolt verifies, so tests
exercise Bolt's own signature check and parsing over HTTP (`deliver`, delivery) or Socket Mode
(`FakeSlack.socket_deliver`).
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.signature import SignatureVerifier

from bot.simulator.slack.delivery import RequestDelivery
from bot.simulator.slack.records import JsonDict
from bot.simulator.slack.signed import SignedRequest

if TYPE_CHECKING:
    from bot.simulator.slack.server import FakeSlack

__all__ = ["SignedRequest", "SlackRequests"]


class SlackRequests(RequestDelivery):
    """Builds signed requests to the bot, shaped as Slack sends them, so Bolt verifies and parses them.

    Pass ``slack=`` (a started FakeSlack) to mint real trigger ids and response URLs by default and to
    let `deliver` apply modal answers to the fake's state.
    """

    def __init__(
        self,
        signing_secret: str,
        *,
        slack: FakeSlack | None = None,
        team_id: str | None = None,
        team_domain: str | None = None,
        api_app_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.slack = slack
        self.team_id = team_id or (slack.team_id if slack else "T0FAKETEAM")
        self.team_domain = team_domain or (slack.team_domain if slack else "fake-workspace")
        self.api_app_id = api_app_id or (slack.app_id if slack else "A0FAKEAPP")
        self.clock = clock

    # ---------------------------------------------------------------------------------- plumbing

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Headers Slack adds: a timestamp and ``v0=`` HMAC-SHA256 signature over ``v0:ts:body``."""
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }

    def interaction(self, payload: Mapping[str, Any], timestamp: int | None = None) -> SignedRequest:
        """Any interaction payload, form-encoded as ``payload=<json>`` and signed."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return SignedRequest(body, self.sign(body, timestamp))

    def _trigger(self, trigger_id: str | None, user_id: str) -> str:
        if trigger_id is not None:
            return trigger_id
        if self.slack is not None:
            return self.slack.new_trigger_id(user_id)
        return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _response_url(
        self, response_url: str | None, channel_id: str, user_id: str, message_ts: str | None = None
    ) -> str:
        if response_url is not None:
            return response_url
        if self.slack is not None and self.slack.url:
            return self.slack.new_response_url(channel_id, user_id, message_ts)
        return f"https://hooks.slack.com/actions/{self.team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"

    def _user(self, user_id: str) -> JsonDict:
        name = user_id
        if self.slack is not None and user_id in self.slack.users:
            name = self.slack.users[user_id].name
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _base(self, kind: str, user_id: str) -> JsonDict:
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _full_view(self, view: Mapping[str, Any], values: Mapping[str, Any] | None) -> JsonDict:
        """A view as Slack echoes it: the stored one when the fake knows its id, completed otherwise."""
        full: JsonDict
        if self.slack is not None and view.get("id") in self.slack.views:
            full = self.slack.view_payload(str(view["id"]))
            full.update({k: v for k, v in view.items() if k not in ("id", "hash")})
        else:
            full = {
                "id": f"V{secrets.randbelow(10**10):010d}",
                "team_id": self.team_id,
                "type": "modal",
                "blocks": [],
                "private_metadata": "",
                "callback_id": "",
                "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
                "previous_view_id": None,
                "app_id": self.api_app_id,
                "external_id": "",
                "app_installed_team_id": self.team_id,
                "bot_id": "B0FAKEBOT",
                **dict(view),
            }
            full.setdefault("root_view_id", full["id"])
        state = full.get("state") if isinstance(full.get("state"), dict) else {"values": {}}
        if values is not None:
            state = {"values": dict(values)}
        full["state"] = state
        return full

    # ---------------------------------------------------------------------------------- requests

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
        response_url: str | None = None,
        channel_name: str = "general",
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A slash command: a form-encoded body, as Slack posts it to the command's URL."""
        form = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(response_url, channel_id, user_id),
            "trigger_id": self._trigger(trigger_id, user_id),
        }
        body = urllib.parse.urlencode(form).encode()
        return SignedRequest(body, self.sign(body, timestamp))

    def block_actions(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str = "actions",
        channel_id: str | None = None,
        message_ts: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        action_type: str = "button",
        text: str = "",
        selected_option: Mapping[str, Any] | None = None,
        state_values: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A click (or select) on a message (give channel_id + message_ts) or in a modal (give view)."""
        action: JsonDict = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": f"{self.clock():.6f}",
        }
        if action_type == "button":
            action["text"] = {"type": "plain_text", "text": text or action_id, "emoji": True}
            if value is not None:
                action["value"] = value
        elif selected_option is not None:
            action["selected_option"] = dict(selected_option)
        elif value is not None:
            action["value"] = value
        payload = self._base("block_actions", user_id)
        payload["trigger_id"] = self._trigger(trigger_id, user_id)
        payload["actions"] = [action]
        if view is not None:
            full = self._full_view(view, state_values)
            payload["container"] = {"type": "view", "view_id": full["id"]}
            payload["view"] = full
        else:
            if channel_id is None or message_ts is None:
                raise ValueError("a message action needs channel_id and message_ts (or pass view=)")
            found = message
            if found is None and self.slack is not None:
                try:
                    found = self.slack.message(channel_id, message_ts).as_api()
                except KeyError:
                    found = None
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {
                "id": channel_id,
                "name": "directmessage" if channel_id[:1] == "D" else channel_id,
            }
            payload["message"] = dict(found) if found is not None else {"type": "message", "ts": message_ts}
            payload["state"] = {"values": dict(state_values or {})}
            payload["response_url"] = self._response_url(response_url, channel_id, user_id, message_ts)
        return self.interaction(payload, timestamp)

    def view_submission(
        self,
        *,
        user_id: str,
        view: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A modal submitted: `view` carries callback_id, private_metadata and state (or pass values)."""
        payload = self._base("view_submission", user_id)
        payload["trigger_id"] = self._trigger(trigger_id, user_id)
        payload["view"] = self._full_view(view, values)
        payload["response_urls"] = []
        return self.interaction(payload, timestamp)

    def view_closed(
        self, *, user_id: str, view: Mapping[str, Any], is_cleared: bool = False, timestamp: int | None = None
    ) -> SignedRequest:
        """A modal closed with its Cancel button (sent only when the view has notify_on_close)."""
        payload = self._base("view_closed", user_id)
        payload["view"] = self._full_view(view, None)
        payload["is_cleared"] = is_cleared
        return self.interaction(payload, timestamp)

    def block_suggestion(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        view: Mapping[str, Any] | None = None,
        block_id: str = "servers",
        timestamp: int | None = None,
    ) -> SignedRequest:
        """An options request from an external select as the user types (`value` is the typed text)."""
        payload = self._base("block_suggestion", user_id)
        payload.update({"action_id": action_id, "block_id": block_id, "value": value})
        if view is not None:
            full = self._full_view(view, None)
            payload["container"] = {"type": "view", "view_id": full["id"]}
            payload["view"] = full
        return self.interaction(payload, timestamp)

    def shortcut(self, *, user_id: str, callback_id: str, trigger_id: str | None = None) -> SignedRequest:
        """A global shortcut (lightning menu): its own trigger to open a modal with."""
        payload = self._base("shortcut", user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self._trigger(trigger_id, user_id),
            action_ts=f"{self.clock():.6f}",
        )
        return self.interaction(payload)

    def message_action(
        self,
        *,
        user_id: str,
        callback_id: str,
        channel_id: str,
        message: Mapping[str, Any],
        trigger_id: str | None = None,
    ) -> SignedRequest:
        """A message shortcut on `message` in `channel_id`, with a trigger and a ``response_url``."""
        payload = self._base("message_action", user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self._trigger(trigger_id, user_id),
            action_ts=f"{self.clock():.6f}",
            message_ts=str(message.get("ts", "")),
            message=dict(message),
            channel={"id": channel_id, "name": channel_id},
            response_url=self._response_url(None, channel_id, user_id),
        )
        return self.interaction(payload)

    def event(self, event: Mapping[str, Any], timestamp: int | None = None) -> SignedRequest:
        """An Events API callback (e.g. ``app_home_opened``): a JSON body, signed like the rest."""
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{self.clock():.6f}", **dict(event)},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(self.clock()),
            "authorizations": [{"team_id": self.team_id, "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        body = json.dumps(envelope).encode()
        headers = {**self.sign(body, timestamp), "Content-Type": "application/json"}
        return SignedRequest(body, headers)

    def app_home_opened(self, *, user_id: str, tab: str = "home") -> SignedRequest:
        """The ``app_home_opened`` event Slack sends when someone opens the app's Home (or Messages) tab."""
        return self.event(
            {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:], "tab": tab}
        )

    def subteam_members_changed(
        self, group_id: str, *, added: Sequence[str] = (), removed: Sequence[str] = ()
    ) -> SignedRequest:
        """The event Slack sends when a user group's members change (scope usergroups:read)."""
        now = int(self.clock())
        return self.event(
            {
                "type": "subteam_members_changed",
                "subteam_id": group_id,
                "team_id": self.team_id,
                "date_previous_update": now - 60,
                "date_update": now,
                "added_users": list(added),
                "added_users_count": str(len(added)),
                "removed_users": list(removed),
                "removed_users_count": str(len(removed)),
            }
        )
