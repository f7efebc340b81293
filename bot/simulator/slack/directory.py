"""Who and where: ``auth.test``, ``users.*``, ``usergroups.*``, ``conversations.open`` and ``.info``.

Deactivated members: ``users.info`` still describes them (``deleted: true``), user groups no longer
list them, and the bot cannot open a DM with them (``user_disabled``); nor with another bot
(``cannot_dm_bot``).
"""

from __future__ import annotations

from bot.simulator.slack.message_store import MessageStore
from bot.simulator.slack.records import JsonDict, MethodError, as_bool, require


class DirectoryMethods(MessageStore):
    """The methods that read the workspace or open a DM."""

    def auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def users_info(self, args: JsonDict) -> JsonDict:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise MethodError("user_not_found")
        return {"user": user.as_api(self.team_id)}

    def users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if user.email and user.email.lower() == email and not user.deleted:
                return {"user": user.as_api(self.team_id)}
        raise MethodError("users_not_found")

    def active_members(self, members: list[str]) -> list[str]:
        """Group members Slack still lists: deactivated accounts leave every group."""
        return [m for m in members if not (m in self.users and self.users[m].deleted)]

    def usergroups_list(self, args: JsonDict) -> JsonDict:
        include_users = as_bool(args.get("include_users", False))
        return {
            "usergroups": [
                g.as_api(self.team_id, self.active_members(g.members) if include_users else None)
                for g in self.usergroups.values()
            ]
        }

    def usergroups_users_list(self, args: JsonDict) -> JsonDict:
        group = self.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise MethodError("no_such_subteam")
        return {"users": self.active_members(group.members)}

    def conversations_open(self, args: JsonDict) -> JsonDict:
        if args.get("channel"):
            channel = str(args["channel"])
            if self.dm_owner(channel) is None:
                raise MethodError("channel_not_found")
            return {"channel": {"id": channel}, "no_op": True, "already_open": True}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise MethodError("users_list_not_supplied")
        for user_id in users:
            user = self.users.get(user_id)
            if user is None:
                raise MethodError("user_not_found")
            if user.deleted:
                raise MethodError("user_disabled")
            if user.is_bot:
                raise MethodError("cannot_dm_bot")
        if len(users) == 1:
            channel_id = self.dm_channel(users[0])
        else:
            channel_id = "G" + "".join(sorted(u[1:4] for u in users)).upper()
        already = self.open_dm(channel_id)
        return {"channel": {"id": channel_id}, "no_op": already, "already_open": already}

    def conversations_info(self, args: JsonDict) -> JsonDict:
        channel_id = require(args, "channel", "channel_not_found")
        owner = self.dm_owner(channel_id)
        if owner is not None:
            return {
                "channel": {"id": channel_id, "is_im": True, "user": owner.id, "is_archived": owner.deleted}
            }
        channel = self.channels.get(channel_id)
        if channel is None or (channel.is_private and not channel.has_member(self.bot_user_id)):
            raise MethodError("channel_not_found")
        return {"channel": channel.as_api(self.bot_user_id)}
