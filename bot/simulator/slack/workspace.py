"""The workspace the fake Slack serves: members (active or deactivated), user groups and channels.

Slack refuses by this state: a channel that does not exist or that the bot cannot see
(``channel_not_found``), one the bot is not a member of (``not_in_channel``), an archived one
(``is_archived``), a person outside the channel (``user_not_in_channel``), a deactivated person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.simulator.slack.records import JsonDict


@dataclass
class SlackUser:
    """A workspace member, as ``users.info`` describes it; `deleted` is a deactivated account."""

    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False
    email: str | None = None
    deleted: bool = False

    def as_api(self, team_id: str) -> JsonDict:
        """The ``user`` object of ``users.info``."""
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "Europe/Berlin",
            "profile": {
                "real_name": real_name,
                "display_name": self.name,
                "email": self.email,
                "team": team_id,
            },
        }


@dataclass
class SlackUsergroup:
    """A user group (``@handle``) whose members the bot may resolve as approvers or requesters."""

    id: str
    handle: str
    members: list[str] = field(default_factory=list)
    name: str = ""

    def as_api(self, team_id: str, users: list[str] | None) -> JsonDict:
        """The ``usergroup`` object of ``usergroups.list`` (`users` only when asked to include them)."""
        group: JsonDict = {
            "id": self.id,
            "team_id": team_id,
            "handle": self.handle,
            "name": self.name or self.handle,
            "is_usergroup": True,
            "date_delete": 0,
            "user_count": len(self.members),
        }
        if users is not None:
            group["users"] = users
        return group


@dataclass
class SlackChannel:
    """A public or private channel; `members` None means every member of the workspace (#general)."""

    id: str
    name: str
    members: set[str] | None = None
    is_private: bool = False
    is_archived: bool = False

    def has_member(self, user_id: str) -> bool:
        """Whether `user_id` is in the channel."""
        return self.members is None or user_id in self.members

    def as_api(self, bot_user_id: str) -> JsonDict:
        """The ``channel`` object of ``conversations.info`` as the bot sees it."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.has_member(bot_user_id),
        }
