"""Block Kit as plain text: the lines a person would read, for the demo transcript and assertions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from bot.simulator.slack.records import JsonDict


class Names(Protocol):
    """Turns ids into what Slack shows: ``@ann`` for a user, ``#approvers`` or ``DM @ann`` for a channel."""

    def who(self, user_id: str) -> str: ...

    def where(self, channel: str) -> str: ...


_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")


def _plain(text: Any, slack: Names | None = None) -> str:
    """Text of a text object or string, with ``<@U…>`` mentions turned into names."""
    if isinstance(text, dict):
        text = text.get("text", "")
    value = str(text or "")

    def mention(match: re.Match[str]) -> str:
        kind, target, label = match.group(1), match.group(2), match.group(3)
        if label:
            return ("@" if kind == "@" else "#" if kind == "#" else "") + label
        if kind == "@" and slack is not None:
            return slack.who(target)
        if kind == "#" and slack is not None:
            return slack.where(target)
        return kind + target if kind != "!" else "@" + target

    return _MENTION.sub(mention, value)


def _element(element: JsonDict, slack: Names | None) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[{_plain(element.get('text'), slack)}]"
    if kind in ("mrkdwn", "plain_text"):
        return _plain(element, slack)
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind.endswith("select") or kind == "overflow":
        return f"[{_plain(element.get('placeholder') or kind, slack)} ▾]"
    if kind in ("plain_text_input", "rich_text_input", "number_input", "email_text_input", "url_text_input"):
        return "[____]"
    if kind in ("checkboxes", "radio_buttons"):
        return " ".join(f"( ) {_plain(o.get('text'), slack)}" for o in element.get("options") or [])
    return f"[{kind}]"


def render_blocks(blocks: Iterable[JsonDict], slack: Names | None = None) -> list[str]:
    """Block Kit as roughly the lines a person would read; good enough for a demo transcript."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"*{_plain(block.get('text'), slack)}*")
        elif kind == "section":
            text = _plain(block.get("text"), slack)
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                text = f"{text} {_element(accessory, slack)}".strip()
            if text:
                lines.append(text)
            fields = [_plain(f, slack) for f in block.get("fields") or []]
            if fields:
                lines.append(" | ".join(fields))
        elif kind == "context":
            lines.append("  " + "  ".join(_element(e, slack) for e in block.get("elements") or []))
        elif kind == "actions":
            lines.append(" ".join(_element(e, slack) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("---")
        elif kind == "input":
            element = block.get("element") if isinstance(block.get("element"), dict) else {}
            lines.append(f"{_plain(block.get('label'), slack)}: {_element(element or {}, slack)}")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines.append(_rich_text(block))
        else:
            lines.append(f"[{kind}]")
    return lines


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if "text" in node and isinstance(node["text"], str):
            return node["text"]
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    return ""


def render_message(text: str, blocks: list[JsonDict], slack: Names | None = None) -> str:
    """A message as plain text: its blocks when it has any (Slack shows those), else its text."""
    if not blocks:
        return _plain(text, slack)
    return "\n    ".join(render_blocks(blocks, slack))


def render_view(view: Mapping[str, Any], slack: Names | None = None) -> str:
    """A modal as plain text: title, blocks, then its buttons."""
    lines = [f"{_plain(view.get('title'), slack)}"] if view.get("title") else []
    lines += render_blocks(view.get("blocks") or [], slack)
    buttons = [f"[{_plain(view[k], slack)}]" for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines.append(" ".join(buttons))
    return "\n    ".join(lines)
