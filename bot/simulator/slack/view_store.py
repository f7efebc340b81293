"""Modals and Home tabs as Slack keeps them: each person's modal stack, view ids and hashes, triggers.

The ``views.*`` methods (views) and the bot's answers to modal submissions (answers) store here; tests
read back a person's open modals, their Home tab, every Home tab published.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from bot.simulator.slack.records import JsonDict, StoredView, Trigger
from bot.simulator.slack.state import SlackState


class ViewStore(SlackState):
    """Views by id, the modal stack per person, the Home tab per person and its history."""

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """Mint a trigger id, valid once and for `trigger_ttl` seconds, to embed in a signed payload."""
        n = next(self._ids)
        trigger_id = f"{n}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = Trigger(user_id, self.clock())
        return trigger_id

    # ------------------------------------------------------------------------------------ read-back

    def view(self, view_id: str) -> StoredView:
        """A modal or Home tab by id; KeyError when unknown."""
        return self.views[view_id]

    def open_views(self, user_id: str) -> list[StoredView]:
        """The user's modal stack, bottom first (empty when no modal is open)."""
        return [self.views[v] for v in self._modal_stacks.get(user_id, [])]

    def home(self, user_id: str) -> StoredView | None:
        """The user's published Home tab, if any."""
        view_id = self._homes.get(user_id)
        return self.views[view_id] if view_id else None

    def homes_published(self, user_id: str) -> list[JsonDict]:
        """Every Home tab published for the user, oldest first, as Slack stored each (the latest is what
        `home` shows); refused publishes are not in it."""
        return list(self._home_history.get(user_id, []))

    # -------------------------------------------------------------------------------------- storage

    def new_hash(self) -> str:
        """A view hash, new at every change (what ``views.update`` compares)."""
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def complete_view(self, view: JsonDict, state: Any) -> JsonDict:
        """A view as Slack stores it: the bot's fields plus the defaults Slack fills in."""
        return {
            "type": view.get("type", "modal"),
            "blocks": list(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": state if isinstance(state, dict) else {"values": {}},
            **{k: v for k, v in view.items() if k not in ("state",)},
        }

    def new_view(
        self, user: str, view: JsonDict, *, root: str | None, previous: str | None = None
    ) -> StoredView:
        """Keep a new modal or Home tab for `user`."""
        view_id = f"V{next(self._ids):010d}"
        stored = StoredView(
            id=view_id,
            user=user,
            hash=self.new_hash(),
            view=self.complete_view(view, None),
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = stored
        return stored

    def push_modal(self, user: str, view: JsonDict) -> StoredView:
        """Put a view on top of the user's modal stack."""
        stack = self._modal_stacks.setdefault(user, [])
        root = self.views[stack[0]].id if stack else None
        stored = self.new_view(user, view, root=root, previous=stack[-1] if stack else None)
        stack.append(stored.id)
        return stored

    def modal_stack(self, user: str) -> list[str]:
        """The ids of the user's open modals, bottom first."""
        return self._modal_stacks.setdefault(user, [])

    def set_home(self, user: str, view: JsonDict) -> StoredView:
        """Publish (or replace) the user's Home tab."""
        existing = self.home(user)
        if existing is None:
            existing = self.new_view(user, view, root=None)
            self._homes[user] = existing.id
        else:
            self.replace_view(existing, view)
        self._home_history.setdefault(user, []).append(existing.view)
        return existing

    def replace_view(self, stored: StoredView, view: JsonDict, state: Any = None) -> None:
        """Put `view` in place of what `stored` showed (`state` kept if given), with a new hash."""
        stored.view, stored.hash = self.complete_view(view, state), self.new_hash()

    def view_api(self, stored: StoredView) -> JsonDict:
        """The ``view`` object Slack returns, and echoes back in ``view_submission`` payloads."""
        return {
            **stored.view,
            "id": stored.id,
            "team_id": self.team_id,
            "hash": stored.hash,
            "root_view_id": stored.root_view_id,
            "previous_view_id": stored.previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def view_payload(self, view_id: str) -> JsonDict:
        """A stored view exactly as a ``view_submission``/``block_actions`` payload would carry it."""
        return self.view_api(self.views[view_id])

    def close_view(self, user_id: str, view_id: str | None = None) -> None:
        """Close a user's modal (or the whole stack): what Slack does after a plain submission ack."""
        stack = self._modal_stacks.get(user_id, [])
        closing = stack if view_id is None or view_id == (stack[0] if stack else None) else [view_id]
        for vid in list(closing):
            if vid in self.views:
                self.views[vid].closed = True
            if vid in stack:
                stack.remove(vid)
        if not stack:
            self._modal_stacks.pop(user_id, None)
