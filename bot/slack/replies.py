"""Reading a clicked button and answering the person who clicked it."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


def request_id_of(action: dict[str, Any]) -> int | None:
    """Button values are echoed by Slack and can be forged: they carry only a number, checked later."""
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() and len(value) < 12 else None


async def tell_clicker(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """Answers the clicker only, where they clicked."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    user_id = str(body["user"]["id"])
    if channel:
        await client.chat_postEphemeral(channel=str(channel), user=user_id, text=text)
