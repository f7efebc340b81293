"""Slack's Block Kit limits as the fake enforces them, and the messages Slack answers with.

This is the fake's own copy of Slack's documented limits (docs.slack.dev, Block Kit reference:
blocks, elements, composition objects, views), written independently of the product's
(`bot/slack/blocks`): it is an independent check, so a limit the product gets wrong shows up as a
refused call in tests instead of being agreed with. Messages follow Slack's wording,
``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``, and are returned in
``response_metadata.messages`` with an ``[ERROR] `` prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MESSAGE_BLOCKS = 50
MESSAGE_TEXT = 40_000  # chat.postMessage / postEphemeral: longer text is msg_too_long
UPDATE_TEXT = 4_000  # chat.update's reference: "The text field cannot exceed 4,000 characters"
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
INPUT_LABEL = 2000
INPUT_HINT = 2000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
SELECT_OPTIONS = 100
OPTION_GROUPS = 100
OVERFLOW_OPTIONS = 5
CHOICE_OPTIONS = 10  # checkboxes and radio buttons
OPTIONS_ANSWER = 100  # options an external select's options request may answer
PLACEHOLDER = 150
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
PLAIN_TEXT_INPUT_LENGTH = 3000  # max_length and min_length of a plain_text_input
ID_LENGTH = 255  # block_id, action_id, callback_id, external_id
VIEW_TITLE = 24  # modal title, submit and close
PRIVATE_METADATA = 3000
VIEW_STACK = 3
TRIGGER_TTL_SECONDS = 3.0
ACK_DEADLINE_SECONDS = 3.0  # commands, clicks, submissions and options requests must be answered in time
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60

_SELECTS = {"static_select", "multi_static_select"}
_CHOICES = {"checkboxes", "radio_buttons"}


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("text") or "")
    return str(value or "")


class _Checker:
    """Collects one message per broken limit, each with the JSON pointer of the offending value."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.messages.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, limit: int, pointer: str) -> None:
        if value is not None and len(_text(value)) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)

    def count(self, items: Any, limit: int, pointer: str) -> None:
        if isinstance(items, Sequence) and not isinstance(items, str) and len(items) > limit:
            self.fail(f"no more than {limit} items allowed", pointer)

    def text_object(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, Mapping):
            self.length(value, limit, pointer + "/text")
        elif value is not None:
            self.length(value, limit, pointer)

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, Mapping):
            return
        for name, limit in (
            ("title", CONFIRM_TITLE),
            ("text", CONFIRM_TEXT),
            ("confirm", CONFIRM_BUTTON),
            ("deny", CONFIRM_BUTTON),
        ):
            if confirm.get(name) is None:
                self.fail(f"missing required field: {name}", pointer)
            else:
                self.text_object(confirm[name], limit, f"{pointer}/{name}")

    def options(self, options: Any, limit: int, pointer: str) -> None:
        if not isinstance(options, Sequence) or isinstance(options, str):
            return
        self.count(options, limit, pointer)
        for i, option in enumerate(options):
            if isinstance(option, Mapping):
                self.text_object(option.get("text"), OPTION_TEXT, f"{pointer}/{i}/text")
                self.length(option.get("value"), OPTION_VALUE, f"{pointer}/{i}/value")
                self.text_object(option.get("description"), OPTION_DESCRIPTION, f"{pointer}/{i}/description")

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, Mapping):
            return
        kind = element.get("type")
        self.length(element.get("action_id"), ID_LENGTH, pointer + "/action_id")
        self.text_object(element.get("placeholder"), PLACEHOLDER, pointer + "/placeholder")
        self.confirm(element.get("confirm"), pointer + "/confirm")
        if kind == "button":
            self.text_object(element.get("text"), BUTTON_TEXT, pointer + "/text")
            self.length(element.get("value"), BUTTON_VALUE, pointer + "/value")
            self.length(element.get("url"), URL, pointer + "/url")
        elif kind in _SELECTS:
            self.options(element.get("options"), SELECT_OPTIONS, pointer + "/options")
            groups = element.get("option_groups")
            self.count(groups, OPTION_GROUPS, pointer + "/option_groups")
            for i, group in enumerate(groups if isinstance(groups, list) else []):
                if isinstance(group, Mapping):
                    self.options(group.get("options"), SELECT_OPTIONS, f"{pointer}/option_groups/{i}/options")
        elif kind == "overflow":
            self.options(element.get("options"), OVERFLOW_OPTIONS, pointer + "/options")
        elif kind in _CHOICES:
            self.options(element.get("options"), CHOICE_OPTIONS, pointer + "/options")
        elif kind == "plain_text_input":
            for name in ("max_length", "min_length"):
                value = element.get(name)
                if isinstance(value, int) and value > PLAIN_TEXT_INPUT_LENGTH:
                    self.fail(f"must be less than {PLAIN_TEXT_INPUT_LENGTH + 1}", f"{pointer}/{name}")
            limit = element.get("max_length")
            initial = element.get("initial_value")
            if isinstance(limit, int) and initial is not None and len(str(initial)) > limit:
                self.fail(f"must be less than {limit + 1} characters", pointer + "/initial_value")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, Mapping):
            self.fail("must be an object", pointer)
            return
        kind = block.get("type")
        self.length(block.get("block_id"), ID_LENGTH, pointer + "/block_id")
        if kind == "section":
            self.text_object(block.get("text"), SECTION_TEXT, pointer + "/text")
            fields = block.get("fields")
            self.count(fields, SECTION_FIELDS, pointer + "/fields")
            for i, item in enumerate(fields if isinstance(fields, list) else []):
                self.text_object(item, SECTION_FIELD_TEXT, f"{pointer}/fields/{i}")
            self.element(block.get("accessory"), pointer + "/accessory")
        elif kind == "header":
            self.text_object(block.get("text"), HEADER_TEXT, pointer + "/text")
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            limit = CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS
            self.count(elements, limit, pointer + "/elements")
            for i, element in enumerate(elements if isinstance(elements, list) else []):
                self.element(element, f"{pointer}/elements/{i}")
        elif kind == "input":
            self.text_object(block.get("label"), INPUT_LABEL, pointer + "/label")
            self.text_object(block.get("hint"), INPUT_HINT, pointer + "/hint")
            self.element(block.get("element"), pointer + "/element")

    def blocks(self, blocks: Any, limit: int, pointer: str) -> None:
        if not isinstance(blocks, list):
            return
        self.count(blocks, limit, pointer)
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}")


def _run(fill: Callable[[_Checker], None]) -> list[str]:
    checker = _Checker()
    fill(checker)
    return checker.messages


def message_block_errors(blocks: Any) -> list[str]:
    """What Slack says is wrong with a message's blocks (``chat.*``); empty when they are valid."""
    return _run(lambda c: c.blocks(blocks, MESSAGE_BLOCKS, "/blocks"))


def view_errors(view: Mapping[str, Any]) -> list[str]:
    """What Slack says is wrong with a view (``views.*`` and ``response_action`` views)."""

    def fill(c: _Checker) -> None:
        if view.get("type") == "modal":
            if not isinstance(view.get("title"), Mapping):
                c.fail("missing required field: title", "/view")
            for name in ("title", "submit", "close"):
                c.text_object(view.get(name), VIEW_TITLE, f"/view/{name}")
        elif view.get("type") == "home":
            if not isinstance(view.get("blocks"), list):  # a Home tab's blocks are required
                c.fail("missing required field: blocks", "/view")
        else:
            c.fail("must be a valid enum value", "/view/type")
        c.length(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata")
        c.length(view.get("callback_id"), ID_LENGTH, "/view/callback_id")
        c.length(view.get("external_id"), ID_LENGTH, "/view/external_id")
        c.blocks(view.get("blocks") or [], VIEW_BLOCKS, "/view/blocks")

    return _run(fill)


def options_answer_errors(answer: Mapping[str, Any]) -> list[str]:
    """What is wrong with the bot's answer to an options request (external select)."""

    def fill(c: _Checker) -> None:
        c.options(answer.get("options"), OPTIONS_ANSWER, "/options")
        groups = answer.get("option_groups")
        c.count(groups, OPTION_GROUPS, "/option_groups")
        for i, group in enumerate(groups if isinstance(groups, list) else []):
            if isinstance(group, Mapping):
                c.options(group.get("options"), OPTIONS_ANSWER, f"/option_groups/{i}/options")

    return _run(fill)


def as_response_messages(messages: Sequence[str]) -> list[str]:
    """``response_metadata.messages`` as Slack writes them."""
    return [f"[ERROR] {m}" for m in messages]
