"""What the fake Slack keeps: recorded calls, messages, ephemerals and views, and its error answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received, kept so tests can assert on what the bot asked Slack to do."""

    method: str
    args: JsonDict
    ts: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the fake answered ``ok: true`` (false for refusals, injected faults, 429s and 5xx)."""
        return self.status == 200 and self.error is None


@dataclass
class StoredMessage:
    """A message as it currently stands in a channel (``chat.update`` edits it in place)."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict]
    user: str
    bot_id: str
    thread_ts: str | None = None
    edited: bool = False

    def as_api(self) -> JsonDict:
        """The ``message`` object Slack returns and echoes back in ``block_actions`` payloads."""
        message: JsonDict = {
            "type": "message",
            "user": self.user,
            "bot_id": self.bot_id,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message


@dataclass
class EphemeralMessage:
    """An ephemeral message: shown to one user only, never stored by real Slack (kept here for tests)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JsonDict]
    thread_ts: str | None = None


@dataclass
class StoredView:
    """A modal or Home tab as it currently stands, with the hash ``views.update`` can check."""

    id: str
    user: str
    hash: str
    view: JsonDict
    root_view_id: str
    previous_view_id: str | None = None
    closed: bool = False

    @property
    def callback_id(self) -> str:
        """The callback id the bot gave the view (what a ``view_submission`` listener matches)."""
        return str(self.view.get("callback_id", ""))


@dataclass
class ShownError:
    """Something Slack showed a person instead of what the bot meant (e.g. a generic modal error)."""

    user: str
    where: str
    text: str


class MethodError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}`` plus any `extra` fields.

    `messages` become ``response_metadata.messages`` (how Slack explains ``invalid_blocks`` and
    ``invalid_arguments``); `headers` are added to the HTTP answer.
    """

    def __init__(
        self,
        error: str,
        *,
        extra: Mapping[str, Any] | None = None,
        messages: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.extra: JsonDict = dict(extra or {})
        self.messages = list(messages or [])
        self.headers = dict(headers or {})

    def body(self) -> JsonDict:
        """The JSON answer Slack gives for this refusal."""
        body: JsonDict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body


@dataclass
class Trigger:
    """A ``trigger_id`` minted for a payload: usable once within the TTL, by the user who acted."""

    user: str | None
    issued: float
    used: bool = False


@dataclass
class ResponseUrl:
    """A ``response_url`` minted for a payload: 5 uses within 30 minutes."""

    channel: str
    user: str
    message_ts: str | None
    issued: float
    uses: int = 0


def require(args: Mapping[str, Any], name: str, error: str = "invalid_arguments") -> str:
    """The argument `name` as a string; `error` when it is missing or empty."""
    value = args.get(name)
    if value is None or value == "":
        raise MethodError(error)
    return str(value)


def as_bool(value: Any) -> bool:
    """A boolean argument as form-encoded (``"true"``, ``"1"``) or JSON callers send it."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
