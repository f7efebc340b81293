"""Messages and ephemerals as Slack keeps them: posted, edited, deleted, threaded, reacted to, shown.

The ``chat.*`` methods (chat) and posts to the ``response_url``s minted here (server) store here after
their checks; tests read back a channel's messages, a thread's replies, the ephemerals a person got.
"""

from __future__ import annotations

import secrets
import time

from bot.simulator.slack.records import EphemeralMessage, JsonDict, ResponseUrl, StoredMessage
from bot.simulator.slack.render import render_message
from bot.simulator.slack.state import SlackState


class MessageStore(SlackState):
    """The workspace's messages, each shown in the transcript as a person would read it."""

    def new_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """Mint a ``response_url`` for a payload: it works 5 times within 30 minutes, as on Slack."""
        if not self.url:
            raise RuntimeError("start() the fake before minting response URLs")
        key = secrets.token_urlsafe(16)
        self._response_urls[key] = ResponseUrl(channel_id, user_id, message_ts, self.clock())
        return f"{self.url}/response/{key}"

    # ------------------------------------------------------------------------------------ read-back

    def messages(self, channel: str) -> list[StoredMessage]:
        """A channel's top-level messages as they stand now (thread replies excluded)."""
        return [m for m in self._messages.get(channel, []) if not m.thread_ts or m.thread_ts == m.ts]

    def replies(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        """The replies in a message's thread, oldest first."""
        return [m for m in self._messages.get(channel, []) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> StoredMessage:
        """One stored message by channel and ts; KeyError when there is none."""
        for m in self._messages.get(channel, []):
            if m.ts == ts:
                return m
        raise KeyError(f"no message {ts} in {channel}")

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[EphemeralMessage]:
        """Ephemeral messages, optionally for one channel and/or one user, oldest first."""
        return [
            e
            for e in self._ephemerals
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Reaction names the bot added to a message."""
        return list(self._reactions.get((channel, ts), []))

    # -------------------------------------------------------------------------------------- storage

    def next_ts(self) -> str:
        """A message ts: strictly increasing and unique, like Slack's."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def has_message(self, channel: str, ts: str) -> bool:
        """Whether `channel` holds a message `ts`."""
        return any(m.ts == ts for m in self._messages.get(channel, []))

    def store_message(
        self, channel: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> StoredMessage:
        """Keep a message the bot posted, and show it."""
        message = StoredMessage(
            channel, self.next_ts(), text, blocks, self.bot_user_id, self.bot_id, thread_ts
        )
        self._messages.setdefault(channel, []).append(message)
        where = self.where(channel)
        if thread_ts:
            where += ", in thread"
        self.show(f"[{where}] bot: {render_message(text, blocks, self)}")
        return message

    def store_ephemeral(
        self, channel: str, user: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> EphemeralMessage:
        """Keep an ephemeral message (real Slack keeps none), and show it to its one reader."""
        ephemeral = EphemeralMessage(channel, user, self.next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(ephemeral)
        self.show(f"[{self.only(channel, user)}] bot: {render_message(text, blocks, self)}")
        return ephemeral

    def edit_message(self, message: StoredMessage, text: str, blocks: list[JsonDict]) -> None:
        """Edit a message in place, and show the edit."""
        message.text, message.blocks, message.edited = text, blocks, True
        self.show(f"[{self.where(message.channel)}] bot (edited): {render_message(text, blocks, self)}")

    def delete_message(self, channel: str, ts: str) -> None:
        """Remove a message, and show that it went."""
        self._messages[channel] = [m for m in self._messages.get(channel, []) if m.ts != ts]
        self.show(f"[{self.where(channel)}] bot deleted a message")

    def open_dm(self, channel: str) -> bool:
        """Open a DM (idempotent); True when it was open already."""
        already = channel in self._messages
        self._messages.setdefault(channel, [])
        return already
