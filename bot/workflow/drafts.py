"""Request forms that start filled in: from a message that names servers, or from a request's failures.

A front end asks for a `Draft` and draws its form from it; nothing here writes anything. The servers a
draft names are checked again, like any typed server, when the form is submitted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain import RequestRecord, ServerPhase
from bot.workflow import sentences as say
from bot.workflow.inventory import InventoryUnavailable
from bot.workflow.service import MAX_REASON_LENGTH, Workflow

MAX_SCANNED_CHARS = 40_000
"""A message longer than this is read only this far (an alert with a huge attachment)."""
SCAN_WAIT_S = 1.5
"""How long a cold server list may take to load before a shortcut answers without it."""
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
RETRY_PHASES = (ServerPhase.FAILED, ServerPhase.UNKNOWN)


@dataclass(frozen=True)
class Draft:
    """What a new request form starts with.

    `targets`: the targets offered (the user's requestable ones, config order); `target`: the one
    pre-selected (None: the user picks); `servers`: servers to pre-fill, as (cloud ID, name); `reason`: the
    reason to pre-fill ('' for none); `notes`: sentences shown at the top of the form (what matched,
    what did not).
    """

    targets: list[str]
    target: str | None = None
    servers: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)


class DraftRefused(Exception):
    """The draft cannot be made for this person; the text says why, for them."""


def message_text(message: Mapping[str, Any]) -> str:
    """Every piece of text in a chat message (its text, blocks and attachments, at any depth), so an
    alert whose server names sit in a block or an attachment field is read whole."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("text", "fallback", "title", "value", "pretext", "url") or not isinstance(
                    value, str
                ):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: message.get(k) for k in ("text", "blocks", "attachments")})
    return "\n".join(parts)[:MAX_SCANNED_CHARS]


def _tokens(text: str) -> set[str]:
    """The words of `text` that could be a server name, ID or IP address, lower-cased, each also
    without trailing punctuation ("web-0001." at the end of a sentence)."""
    found: set[str] = set()
    for token in TOKEN.findall(text[:MAX_SCANNED_CHARS]):
        low = token.lower()
        found.add(low)
        found.add(low.rstrip(".:-"))
    return found


class Drafts:
    """Makes drafts for one workflow; cheap to create per use."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    async def from_message(self, user_id: str, text: str) -> Draft:
        """Every server of the user's targets whose name, ID or IP address appears in `text`.

        Pre-selects the target with the most matches (the first in config order on a tie) and says in
        `notes` what matched elsewhere, since one request covers one target. Raises DraftRefused when
        the user may request on no target."""
        targets = await self.workflow.requestable_targets(user_id)
        if not targets:
            raise DraftRefused(say.NO_TARGETS)
        words = _tokens(text)
        # Every target at once: the form must open within Slack's trigger lifetime (3 s).
        found = await asyncio.gather(*(self._named_in(target, words) for target in targets))
        matches = {t: named for t, named in zip(targets, found, strict=True) if named}
        unavailable = [t for t, named in zip(targets, found, strict=True) if named is None]
        notes = [say.list_unread(t) for t in unavailable]
        if not matches:
            notes.insert(0, say.NONE_NAMED)
            return Draft(targets, targets[0] if len(targets) == 1 else None, notes=notes)
        chosen = max(matches, key=lambda t: (len(matches[t]), -targets.index(t)))
        picked = matches[chosen]
        notes.insert(0, say.found_in_message(chosen, _names(picked)))
        for other, named in matches.items():
            if other != chosen:
                notes.append(say.also_named(other, _names(named)))
        return Draft(targets, chosen, picked, notes=notes)

    async def _named_in(self, target: str, words: set[str]) -> list[tuple[str, str]] | None:
        """The servers of `target` named among `words`, as (ID, name); None when its list is unreadable."""
        try:
            servers = await self.workflow.inventory.search(target, "", limit=10**9, max_wait_s=SCAN_WAIT_S)
        except InventoryUnavailable:
            return None
        return [
            (s.id, s.name)
            for s in servers
            if s.name.lower() in words or s.id.lower() in words or any(ip in words for ip in s.addresses)
        ]

    async def again(self, request_id: int, user_id: str) -> Draft:
        """The servers of a finished request that failed or whose outcome is unknown, on the same
        target, with the same reason marked with the original number.

        Raises DraftRefused (with a sentence for the user) when the request is not theirs, not
        finished, has no such servers, or they may no longer request on its target."""
        request = await self.workflow.store.get_request(request_id)
        if request is None or request.requester_id != user_id:
            raise DraftRefused(say.not_one_of_yours(request_id))
        if not request.status.is_final:
            raise DraftRefused(say.not_finished(request_id))
        servers = [s for s in await self.workflow.store.servers(request_id) if s.phase in RETRY_PHASES]
        if not servers:
            raise DraftRefused(say.no_failed_servers(request_id))
        targets = await self.workflow.requestable_targets(user_id)
        if request.target not in targets:
            raise DraftRefused(say.no_longer_requester(request.target))
        names = [(s.server_id, s.name) for s in servers]
        return Draft(
            targets,
            request.target,
            names,
            reason=self._again_reason(request),
            notes=[say.again_note(request.id, _names(names))],
        )

    def _again_reason(self, request: RequestRecord) -> str:
        """The original reason with the original number in front; after it instead when the target's
        `reason_pattern` wants the reason to start a certain way (a ticket ID first)."""
        mark = say.again_mark(request.id)
        reason = f"{mark}: {request.reason}"
        target = self.workflow.targets.get(request.target)
        pattern = target.reason_pattern if target else None
        if pattern and re.search(pattern, request.reason) and not re.search(pattern, reason):
            reason = f"{request.reason} ({mark.lower()})"
        return reason[:MAX_REASON_LENGTH]


def _names(servers: Iterable[tuple[str, str]]) -> list[str]:
    return [name for _, name in servers]
