"""``chat.*`` methods: messages and ephemerals, refused where Slack refuses them.

Channel checks, in Slack's order: the channel must exist and be visible to the bot
(``channel_not_found``; a private channel without the bot is invisible), not be archived
(``is_archived`` for posts, ``is_inactive`` for edits), and have the bot as a member
(``not_in_channel``). A DM with a deactivated member is archived. An ephemeral's reader must be in the
channel (``user_not_in_channel``; deactivated members are in none). Blocks are checked against Slack's
limits on every call (``invalid_blocks`` with ``errors`` and ``response_metadata.messages``).
"""

from __future__ import annotations

from bot.simulator.slack import limits
from bot.simulator.slack.message_store import MessageStore
from bot.simulator.slack.records import JsonDict, MethodError, require


class ChatMethods(MessageStore):
    """``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``chat.delete``, ``reactions.add``."""

    def resolve_channel(self, args: JsonDict) -> str:
        """The conversation a call names; a user id means the bot's DM with that user, as on Slack."""
        channel = require(args, "channel", "channel_not_found")
        if channel[:1] in ("U", "W"):
            user = self.users.get(channel)
            if user is None:
                raise MethodError("channel_not_found")
            if user.is_bot:
                raise MethodError("cannot_dm_bot")
            channel = self.dm_channel(channel)
        return channel

    def check_channel(self, channel: str, *, edit: bool = False) -> None:
        """Refuse as Slack does when the bot cannot write to `channel` (see the module docstring)."""
        archived_error = "is_inactive" if edit else "is_archived"
        if channel.startswith("D"):
            owner = self.dm_owner(channel)
            if owner is None:
                raise MethodError("channel_not_found")
            if owner.deleted:
                raise MethodError(archived_error)
            return
        known = self.channels.get(channel)
        if known is None:
            raise MethodError("channel_not_found")
        member = known.has_member(self.bot_user_id)
        if known.is_private and not member:
            raise MethodError("channel_not_found")
        if known.is_archived:
            raise MethodError(archived_error)
        if not member:
            raise MethodError("not_in_channel")

    def check_reader(self, channel: str, user_id: str) -> None:
        """Refuse an ephemeral for someone who cannot see `channel`."""
        user = self.users.get(user_id)
        if user is None:
            raise MethodError("user_not_found")
        if user.deleted:
            raise MethodError("user_not_in_channel")
        if channel.startswith("D"):
            if self.dm_channel(user_id) != channel:
                raise MethodError("user_not_in_channel")
        elif not self.channels[channel].has_member(user_id):
            raise MethodError("user_not_in_channel")

    @staticmethod
    def content(args: JsonDict, max_text: int = limits.MESSAGE_TEXT) -> tuple[str, list[JsonDict]]:
        """The message's text and blocks, refused as Slack refuses bad ones."""
        text = str(args.get("text") or "")
        if len(text) > max_text:
            raise MethodError("msg_too_long")
        blocks = args.get("blocks") or []
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise MethodError("invalid_blocks_format")
        if not text and not blocks and not args.get("attachments"):
            raise MethodError("no_text")
        problems = limits.message_block_errors(blocks)
        if problems:
            raise MethodError(
                "invalid_blocks",
                extra={"errors": problems},
                messages=limits.as_response_messages(problems),
            )
        return text, blocks

    def chat_post_message(self, args: JsonDict) -> JsonDict:
        channel = self.resolve_channel(args)
        self.check_channel(channel)
        text, blocks = self.content(args)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and not self.has_message(channel, thread_ts):
            raise MethodError("thread_not_found")
        message = self.store_message(channel, text, blocks, thread_ts)
        return {"channel": channel, "ts": message.ts, "message": message.as_api()}

    def chat_update(self, args: JsonDict) -> JsonDict:
        channel = self.resolve_channel(args)
        ts = require(args, "ts", "message_not_found")
        self.check_channel(channel, edit=True)
        text, blocks = self.content(args, limits.UPDATE_TEXT)
        if not self.has_message(channel, ts):
            raise MethodError("message_not_found")
        message = self.message(channel, ts)
        self.edit_message(message, text, blocks)
        return {"channel": channel, "ts": ts, "text": text, "message": message.as_api()}

    def chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        channel = self.resolve_channel(args)
        user = require(args, "user", "user_not_found")
        self.check_channel(channel)
        self.check_reader(channel, user)
        text, blocks = self.content(args)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        ephemeral = self.store_ephemeral(channel, user, text, blocks, thread_ts)
        return {"message_ts": ephemeral.ts}

    def chat_delete(self, args: JsonDict) -> JsonDict:
        channel = self.resolve_channel(args)
        ts = require(args, "ts", "message_not_found")
        self.check_channel(channel, edit=True)
        if not self.has_message(channel, ts):
            raise MethodError("message_not_found")
        self.delete_message(channel, ts)
        return {"channel": channel, "ts": ts}

    def reactions_add(self, args: JsonDict) -> JsonDict:
        channel = self.resolve_channel(args)
        ts = require(args, "timestamp", "message_not_found")
        name = require(args, "name", "invalid_name")
        self.check_channel(channel)
        if not self.has_message(channel, ts):
            raise MethodError("message_not_found")
        names = self._reactions.setdefault((channel, ts), [])
        if name in names:
            raise MethodError("already_reacted")
        names.append(name)
        return {}
