"""The modals: the reset request form, the deny reason, and the one-time password reveal."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ExternalDataMultiSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain import PasswordMode, RebootMode
from bot.slack import ids
from bot.slack.blocks.breakglass import emergency_block
from bot.slack.blocks.common import MODAL_BLOCK_LIMIT, context, escape, markdown, secret_sections
from bot.slack.blocks.text import name_as_shown, suspicious_name, visible
from bot.workflow import DeliveredSecret, ServerChoice

MAX_PICKED = 100
"""Slack's most selected items in a multi-select."""
MODE_OPTIONS = [
    Option(value=PasswordMode.SHARED.value, text="One password for the whole batch"),
    Option(value=PasswordMode.PER_SERVER.value, text="One password per server"),
]
REBOOT_OPTIONS = [
    Option(value=RebootMode.NONE.value, text="No restart (takes effect at the next restart)"),
    Option(value=RebootMode.SOFT.value, text="Soft restart after the reset"),
    Option(value=RebootMode.HARD.value, text="Hard restart after the reset"),
]


def request_modal(
    targets: Sequence[str],
    *,
    prefill: str = "",
    reason_hint: str | None = None,
    selected: str | None = None,
    reason: str = "",
    notes: Sequence[str] = (),
    picked: Sequence[tuple[str, str]] = (),
    emergency_targets: Sequence[str] = (),
) -> View:
    """The request form; `selected` pre-selects a target, `picked` pre-selects servers (ID, name), at
    most the picker's 100 (callers paste the rest), `reason` pre-fills the reason, and `notes` (what a
    shortcut found in a message, what a request again is for) are shown above the fields.
    `emergency_targets`: where this person may break glass; the Emergency choice shows only then."""
    target_options = [Option(value=t, text=t) for t in targets]
    initial = next((o for o in target_options if o.value == selected), None)
    target_select = StaticSelectElement(
        action_id=ids.TARGET_ACTION,
        options=target_options,
        placeholder="Cloud project",
        initial_option=initial or (target_options[0] if len(target_options) == 1 else None),
    )
    view = View(
        type="modal",
        callback_id=ids.REQUEST_MODAL,
        title="Reset ECS passwords",
        submit="Check and submit",
        close="Cancel",
        blocks=[
            InputBlock(block_id=ids.TARGET_BLOCK, label="Target", element=target_select),
            InputBlock(
                block_id=ids.SERVERS_BLOCK,
                label="Servers",
                optional=True,
                hint="Type part of a name, ID or IP address.",
                element=ExternalDataMultiSelectElement(
                    action_id=ids.SERVERS_ACTION,
                    placeholder="Search servers",
                    min_query_length=0,
                    max_selected_items=MAX_PICKED,
                    initial_options=[server_option(n, sid, sid) for sid, n in picked[:MAX_PICKED]] or None,
                ),
            ),
            InputBlock(
                block_id=ids.PASTE_BLOCK,
                label="Or paste names or IDs",
                optional=True,
                hint="One per line, or separated by commas or spaces.",
                element=PlainTextInputElement(
                    action_id=ids.PASTE_ACTION,
                    multiline=True,
                    initial_value=prefill or None,
                    placeholder="web-0001, web-0002 …",
                ),
            ),
            InputBlock(
                block_id=ids.TAG_BLOCK,
                label="Or every server with this tag",
                optional=True,
                element=PlainTextInputElement(action_id=ids.TAG_ACTION, placeholder="env=prod"),
            ),
            InputBlock(
                block_id=ids.MODE_BLOCK,
                label="Password",
                element=RadioButtonsElement(
                    action_id=ids.MODE_ACTION, options=MODE_OPTIONS, initial_option=MODE_OPTIONS[0]
                ),
            ),
            InputBlock(
                block_id=ids.REBOOT_BLOCK,
                label="Restart",
                element=RadioButtonsElement(
                    action_id=ids.REBOOT_ACTION, options=REBOOT_OPTIONS, initial_option=REBOOT_OPTIONS[0]
                ),
            ),
            InputBlock(
                block_id=ids.REASON_BLOCK,
                label="Reason",
                hint=reason_hint,
                element=PlainTextInputElement(
                    action_id=ids.REASON_ACTION,
                    multiline=True,
                    max_length=1000,
                    initial_value=reason or None,
                    placeholder="Ticket and why you need it",
                ),
            ),
        ],
    )
    if emergency_targets:
        view.blocks.insert(len(view.blocks) - 1, emergency_block(emergency_targets))
    view.blocks[0:0] = [context(escape(note)) for note in notes]
    return view


@lru_cache(maxsize=256)
def request_modal_dict(
    targets: tuple[str, ...], reason_hint: str | None = None, emergency_targets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The empty request form for these targets, validated and rendered once: what views.open sends
    (kept by bench/ack_latency.py's commands and bench/user_wait.py's command -> modal).

    Shared between callers: never mutate it (a prefilled form is built with `request_modal`)."""
    return request_modal(targets, reason_hint=reason_hint, emergency_targets=emergency_targets).to_dict()


def reason_modal(
    request_id: int,
    *,
    callback_id: str,
    title: str,
    submit: str,
    intro: str,
    block_id: str,
    action_id: str,
    max_length: int,
) -> View:
    """A form that asks why (Deny, Flag) before a decision on `request_id`, which it carries in
    `private_metadata`; `intro` says what the decision does and who reads the reason."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Back",
        private_metadata=str(request_id),
        blocks=[
            context(intro),
            InputBlock(
                block_id=block_id,
                label="Why?",
                element=PlainTextInputElement(action_id=action_id, multiline=True, max_length=max_length),
            ),
        ],
    )


def deny_modal(request_id: int, context_text: str) -> View:
    return reason_modal(
        request_id,
        callback_id=ids.DENY_MODAL,
        title=f"Deny request #{request_id}",
        submit="Deny",
        intro=context_text,
        block_id=ids.DENY_REASON_BLOCK,
        action_id=ids.DENY_REASON_ACTION,
        max_length=500,
    )


def flag_modal(request_id: int) -> View:
    return reason_modal(
        request_id,
        callback_id=ids.FLAG_MODAL,
        title=f"Flag #{request_id}",
        submit="Flag",
        intro=f"Flagging marks break-glass request #{request_id} as disputed. The requester and the "
        "audit channel see your reason.",
        block_id=ids.FLAG_REASON_BLOCK,
        action_id=ids.FLAG_REASON_ACTION,
        max_length=1000,
    )


def reveal_modal(request_id: int, secrets: Sequence[DeliveredSecret]) -> View:
    """The only view that carries a password: shown once, to the requester, never stored by Slack."""
    sections = secret_sections(secrets)
    room = MODAL_BLOCK_LIMIT - 2
    blocks: list[Block] = [context(f"Request #{request_id}. Copy it now: this cannot be shown again.")]
    blocks += sections[:room]
    if len(sections) > room:
        blocks.append(context("More passwords than a modal can hold: the rest are in the ephemeral message."))
    return View(
        type="modal", callback_id=ids.REVEAL_MODAL, title="Your new password", close="Done", blocks=blocks
    )


def notice_modal(title: str, text: str) -> View:
    return View(type="modal", title=title, close="OK", blocks=[markdown(text)])


def server_option(name: str, server_id: str, detail: str) -> Option:
    """A typeahead option: the name as cards show it (look-alikes and invisible characters made
    visible, flagged with ⚠), then the details; Slack cuts option text at 75 characters."""
    flag = "⚠ " if suspicious_name(name) else ""
    label = f"{flag}{visible(name_as_shown(name))} ({detail})"
    return Option(value=server_id, text=PlainTextObject(text=label[:75]))


def server_option_dict(server: ServerChoice) -> dict[str, Any]:
    """One server as a typeahead option, validated by the model and rendered to what Slack is sent:
    IP, OS, status and the start of its ID, so two servers of one name can be told apart."""
    parts = (server.address, server.os_type, server.status, f"ID {server.server_id[:8]}…")
    detail = ", ".join(p for p in parts if p)
    return server_option(server.name, server.server_id, visible(detail)).to_dict()
