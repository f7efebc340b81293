"""A request as Slack sends it to the bot: body and signed headers, and the payload read back from them.

`SlackRequests` builds them; `SlackRequests.deliver` posts them over HTTP, `FakeSlack.socket_deliver` sends
them over Socket Mode, and the fake reads the bot's answer against them (answers).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Literal, NamedTuple

from bot.simulator.slack.records import JsonDict

# Socket Mode's envelope types, one per way Slack sends: Events API, interactions, slash commands.
RequestKind = Literal["events_api", "interactive", "slash_commands"]


class SignedRequest(NamedTuple):
    """A request body and headers as Slack sends them; unpacks as ``body, headers``."""

    body: bytes
    headers: dict[str, str]

    def decoded(self) -> tuple[RequestKind, JsonDict]:
        """What the request carries: an event's JSON envelope, an interaction's ``payload``, or a slash
        command's form fields (one value each), with the Socket Mode envelope type for it."""
        if self.headers.get("Content-Type") == "application/json":
            return "events_api", json.loads(self.body)
        form = urllib.parse.parse_qs(self.body.decode())
        if "payload" in form:
            return "interactive", json.loads(form["payload"][0])
        return "slash_commands", {k: v[0] for k, v in form.items()}
