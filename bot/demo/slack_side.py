"""Slack's side of a conversation with the bot, as the people's moves need it, wherever the fake runs.

`People` (people.py) reads what Slack received and shows through `SlackSide`: the fake Slack in this
process (`LocalSlack`) or in another one (bench/procs.py's `RemoteFakes`, over bench/fakes_child.py's
JSON RPC, so the fakes never share the measuring client's event loop). What to wait for is plain data
(`CallMatch`), so both sides match calls with the same code.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.simulator.slack import FakeSlack, JsonDict, SlackCall, StoredMessage, StoredView

DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CallMatch:
    """Which Slack Web API call to wait for; every criterion given must hold.

    `text` is looked for in the call's ``text`` argument, `contains` anywhere in its arguments as JSON;
    `equals` names arguments and their exact values; `top_level` excludes thread replies; `ok` keeps
    only calls the fake accepted (a refused post left nothing behind).
    """

    method: str
    channel: str | None = None
    text: str | None = None
    contains: str | None = None
    equals: Mapping[str, Any] = field(default_factory=dict)
    top_level: bool = False
    ok: bool = False

    def matches(self, call: SlackCall) -> bool:
        """Whether `call` is one this match waits for."""
        args = call.args
        return (
            call.method == self.method
            and (self.channel is None or args.get("channel") == self.channel)
            and (self.text is None or self.text in str(args.get("text")))
            and (self.contains is None or self.contains in json.dumps(args, default=str))
            and all(args.get(name) == value for name, value in self.equals.items())
            and not (self.top_level and args.get("thread_ts"))
            and not (self.ok and not call.ok)
        )

    def to_json(self) -> JsonDict:
        """The match as JSON-ready data (`from_json` reads it back in the fakes' process)."""
        return {**dataclasses.asdict(self), "equals": dict(self.equals)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallMatch:
        return cls(**data)


class SlackSide(Protocol):
    """What Slack received from the bot and what it shows people, read where the fake Slack runs."""

    async def call_count(self) -> int:
        """How many Web API calls were recorded so far (a `since` for `wait_for`)."""
        ...

    async def wait_for(
        self,
        match: CallMatch,
        timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109  (the fake's own wait takes it)
        *,
        since: int = 0,
    ) -> SlackCall:
        """The first recorded call from index `since` on that `match` matches; TimeoutError after
        `timeout` seconds."""
        ...

    async def triggers(self, user_id: str, n: int = 1) -> list[str]:
        """`n` fresh trigger ids for `user_id` (each usable once, as on Slack)."""
        ...

    async def response_urls(
        self, channel: str, user_id: str, message_ts: str | None = None, n: int = 1
    ) -> list[str]:
        """`n` fresh response URLs for a payload of `user_id` in `channel` (about message `message_ts`)."""
        ...

    async def open_view(self, user_id: str, callback_id: str) -> JsonDict | None:
        """The person's latest open modal with `callback_id`, as Slack echoes it; None when none is open."""
        ...

    async def messages(self, channel: str) -> list[StoredMessage]:
        """A channel's top-level messages as they stand now, oldest first."""
        ...

    async def home(self, user_id: str) -> StoredView | None:
        """The person's published Home tab, if any."""
        ...


class LocalSlack:
    """`SlackSide` over a `FakeSlack` in this process: what it returns is the fake's own (live) state."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    async def call_count(self) -> int:
        return self.fake.call_count

    async def wait_for(
        self,
        match: CallMatch,
        timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> SlackCall:
        return await self.fake.wait_for(match.method, match.matches, timeout, since=since)

    async def triggers(self, user_id: str, n: int = 1) -> list[str]:
        return [self.fake.new_trigger_id(user_id) for _ in range(n)]

    async def response_urls(
        self, channel: str, user_id: str, message_ts: str | None = None, n: int = 1
    ) -> list[str]:
        return [self.fake.new_response_url(channel, user_id, message_ts) for _ in range(n)]

    async def open_view(self, user_id: str, callback_id: str) -> JsonDict | None:
        return open_view_payload(self.fake, user_id, callback_id)

    async def messages(self, channel: str) -> list[StoredMessage]:
        return self.fake.messages(channel)

    async def home(self, user_id: str) -> StoredView | None:
        return self.fake.home(user_id)


def open_view_payload(fake: FakeSlack, user_id: str, callback_id: str) -> JsonDict | None:
    """The latest of the person's open modals with `callback_id`, as a submission would carry it."""
    stored = [v for v in fake.open_views(user_id) if v.callback_id == callback_id]
    return fake.view_payload(stored[-1].id) if stored else None


def latest_message(messages: Iterable[StoredMessage], channel: str, text_start: str) -> StoredMessage:
    """The latest top-level message of `channel` (its `messages`) whose text starts with `text_start`;
    LookupError when none does."""
    for message in reversed(list(messages)):
        if message.thread_ts is None and message.text.startswith(text_start):
            return message
    raise LookupError(f"no message starting {text_start!r} in {channel}")


def parsed_view(call: SlackCall) -> JsonDict:
    """The view a ``views.open``/``views.push`` call carried (form-encoded calls send it as JSON text)."""
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)
