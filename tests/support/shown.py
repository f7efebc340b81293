"""What the bot showed people, read back by the tests: the passwords in Block Kit blocks (a code span each,
the servers it belongs to named in `backticks` before it), and the only two calls allowed to carry one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack import ids

PASSWORD_IN_BLOCK = re.compile(r"```(.+?)```", re.S)
NAME_IN_BACKTICKS = re.compile(r"`([^`]+)`")


def passwords_in_blocks(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every password shown in these blocks, in order."""
    found: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, Mapping):
            found += PASSWORD_IN_BLOCK.findall(str(text.get("text") or ""))
    return found


def passwords_by_server(blocks: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Server name -> password, from the ephemeral or the reveal modal (a section may hold several
    "`name`, `name`\\n```password```" entries)."""
    found: dict[str, str] = {}
    for block in blocks:
        text = block.get("text")
        if not isinstance(text, Mapping):
            continue
        body = str(text.get("text", ""))
        names_start = 0
        for secret in PASSWORD_IN_BLOCK.finditer(body):
            for name in NAME_IN_BACKTICKS.findall(body[names_start : secret.start()]):
                found[name] = secret.group(1)
            names_start = secret.end()
    return found


def is_delivery(method: str, args: Mapping[str, Any], *, to: str | None = None) -> bool:
    """The two sanctioned carriers of a password: the ephemeral with the new password(s) (to `to`, when
    given) and the reveal modal."""
    if method == "chat.postEphemeral":
        return "New password(s) for request" in str(args.get("text")) and to in (None, args.get("user"))
    if method == "views.open":
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        return isinstance(view, Mapping) and view.get("callback_id") == ids.REVEAL_MODAL
    return False
