"""Small aids for tests of the fake Slack itself: a valid modal, a refusal (its clock: support.clock)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

# A modal within every limit, with one input block ("reason") an ``errors`` answer may name.
REASON_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "reset_request",
    "title": {"type": "plain_text", "text": "Reset ECS password"},
    "submit": {"type": "plain_text", "text": "Submit"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "private_metadata": "{}",
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        }
    ],
}


async def refused(call: Awaitable[Any]) -> dict[str, Any]:
    """The answer of a call Slack must refuse (the test fails if it was accepted), with ``_status``."""
    with pytest.raises(SlackApiError) as err:
        await call
    return dict(err.value.response.data) | {"_status": err.value.response.status_code}
