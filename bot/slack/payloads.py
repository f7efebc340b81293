"""Reading what Slack sends: clicks, view submissions and their inputs. The one place that knows the
payloads' shapes; listeners get plain values from here. Every value read is checked or bounded: a
payload can be forged within the signature window, or simply malformed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain import PasswordMode, RebootMode
from bot.slack import ids, sentences
from bot.workflow import Submission

MAX_PASTED = 5000
SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True, slots=True)
class Click:
    """What a click's background work needs from Slack's payload.

    The payload holds the whole message that was clicked (every block of the card); work spawned after
    the ack keeps only this, so a burst of clicks waiting on the store does not keep thousands of parsed
    cards alive for the garbage collector to walk (bench/ack_latency.py, BENCHMARKS.md section 2).
    """

    user_id: str
    value: str
    channel: str | None = None
    message_ts: str | None = None
    trigger_id: str = ""
    response_url: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        return cls(
            user_id=str(body["user"]["id"]),
            value=str(action.get("value") or "")[:200],
            channel=str(channel) if channel else None,
            message_ts=str((body.get("message") or {}).get("ts") or "") or None,
            trigger_id=str(body.get("trigger_id") or ""),
            response_url=str(body.get("response_url") or "") or None,
        )

    @property
    def request_id(self) -> int | None:
        """Button values are echoed by Slack and can be forged: they carry only a number, checked later."""
        return int(self.value) if self.value.isdigit() and len(self.value) < 12 else None


def user_of(body: dict[str, Any]) -> str:
    """The ID of the user who sent a payload (every interaction carries one)."""
    return str(body["user"]["id"])


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """The inputs of a submitted (or displayed) view: `state.values`, empty when absent."""
    values = (view.get("state") or {}).get("values")
    return values if isinstance(values, dict) else {}


def input_value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    """The state of one input of a view (`view.state.values[block][action]`); empty when absent."""
    entry = (values.get(block) or {}).get(action)
    return entry if isinstance(entry, dict) else {}


def selected_value(values: dict[str, Any], block: str, action: str) -> str | None:
    """The value of the option picked in a select or radio input; None when none is."""
    option = input_value(values, block, action).get("selected_option")
    return str(option["value"]) if isinstance(option, dict) and "value" in option else None


def submission_key(view: dict[str, Any]) -> str | None:
    """Slack gives every modal it opens its own id and sends it with each submission: the same id
    twice is the same submission replayed (a retry, or a captured body re-sent within the signature
    window), never a new request. The prefix keeps the key apart from another front end's."""
    view_id = view.get("id")
    return f"slack-view:{view_id}" if isinstance(view_id, str) and view_id else None


def parse_submission(
    user_id: str, values: dict[str, Any], key: str | None = None
) -> tuple[Submission | None, dict[str, str]]:
    """Turns the modal's state into a Submission, or block errors for what cannot even be read."""
    errors: dict[str, str] = {}
    target = selected_value(values, ids.TARGET_BLOCK, ids.TARGET_ACTION)
    if not target:
        errors[ids.TARGET_BLOCK] = sentences.PICK_TARGET
    picked = input_value(values, ids.SERVERS_BLOCK, ids.SERVERS_ACTION).get("selected_options") or []
    refs = [str(o["value"]) for o in picked if isinstance(o, dict) and "value" in o]
    pasted = str(input_value(values, ids.PASTE_BLOCK, ids.PASTE_ACTION).get("value") or "")
    pasted_refs = [r for r in SPLIT.split(pasted) if r]
    if len(pasted_refs) > MAX_PASTED:
        errors[ids.PASTE_BLOCK] = sentences.too_many_pasted(MAX_PASTED)
    tag = input_value(values, ids.TAG_BLOCK, ids.TAG_ACTION).get("value")
    reason = str(input_value(values, ids.REASON_BLOCK, ids.REASON_ACTION).get("value") or "")
    emergency = input_value(values, ids.EMERGENCY_BLOCK, ids.EMERGENCY_ACTION).get("selected_options") or []
    try:
        mode = PasswordMode(selected_value(values, ids.MODE_BLOCK, ids.MODE_ACTION) or PasswordMode.SHARED)
    except ValueError:
        errors[ids.MODE_BLOCK] = sentences.PICK_PASSWORD_MODE
        mode = PasswordMode.SHARED
    try:
        reboot = RebootMode(selected_value(values, ids.REBOOT_BLOCK, ids.REBOOT_ACTION) or RebootMode.NONE)
    except ValueError:
        errors[ids.REBOOT_BLOCK] = sentences.PICK_RESTART
        reboot = RebootMode.NONE
    if errors or target is None:
        return None, errors
    return Submission(
        target=target,
        requester_id=user_id,
        server_refs=refs + pasted_refs,
        reason=reason,
        password_mode=mode,
        reboot=reboot,
        tag=str(tag) if tag else None,
        submission_key=key,
        break_glass=bool(emergency),
    ), {}


def reason_submission(view: dict[str, Any], block_id: str, action_id: str) -> tuple[int | None, str]:
    """A reason form's (Deny, Flag) request number, from `private_metadata` (None when it is not a
    number a request can have), and the reason typed in its `block_id` / `action_id` field."""
    metadata = str(view.get("private_metadata") or "")
    reason = str(input_value(view_values(view), block_id, action_id).get("value") or "")
    return (int(metadata) if metadata.isdigit() and len(metadata) < 12 else None), reason
