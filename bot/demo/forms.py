"""What people put into the bot's forms and what its buttons carry, shaped as Slack sends them."""

from __future__ import annotations

from typing import Any

from bot.slack import ids


def submission_values(
    *,
    target: str,
    paste: str,
    reason: str,
    mode: str = "shared",
    reboot: str = "none",
    tag: str | None = None,
    picked: list[str] | None = None,
    emergency: bool = False,
) -> dict[str, Any]:
    """The modal's `state.values` as Slack sends them on submit (`emergency`: the break-glass box ticked)."""
    values = {
        ids.TARGET_BLOCK: {
            ids.TARGET_ACTION: {"type": "static_select", "selected_option": {"value": target}}
        },
        ids.SERVERS_BLOCK: {
            ids.SERVERS_ACTION: {
                "type": "multi_external_select",
                "selected_options": [{"value": v} for v in picked or []],
            }
        },
        ids.PASTE_BLOCK: {ids.PASTE_ACTION: {"type": "plain_text_input", "value": paste or None}},
        ids.TAG_BLOCK: {ids.TAG_ACTION: {"type": "plain_text_input", "value": tag}},
        ids.MODE_BLOCK: {ids.MODE_ACTION: {"type": "radio_buttons", "selected_option": {"value": mode}}},
        ids.REBOOT_BLOCK: {
            ids.REBOOT_ACTION: {"type": "radio_buttons", "selected_option": {"value": reboot}}
        },
        ids.REASON_BLOCK: {ids.REASON_ACTION: {"type": "plain_text_input", "value": reason}},
    }
    if emergency:
        picked_boxes = [{"value": "break_glass"}]
        values[ids.EMERGENCY_BLOCK] = {
            ids.EMERGENCY_ACTION: {"type": "checkboxes", "selected_options": picked_boxes}
        }
    return values


def deny_values(reason: str | None) -> dict[str, Any]:
    """The deny-reason modal's `state.values` as Slack sends them on submit (None: left empty)."""
    return {ids.DENY_REASON_BLOCK: {ids.DENY_REASON_ACTION: {"type": "plain_text_input", "value": reason}}}


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of the button `action_id` in a message's blocks; LookupError when it has none."""
    for block in blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element["value"])
    raise LookupError(f"no {action_id} button in the message")
