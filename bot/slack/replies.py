"""Reading a clicked button and answering the person who clicked it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.context import SlackContext


@dataclass(frozen=True, slots=True)
class Click:
    """What a click's background work needs from Slack's payload.

    The payload holds the whole message that was clicked (every block of the card); work spawned after
    the ack keeps only this, so a burst of clicks waiting on the store does not keep thousands of parsed
    cards alive for the garbage collector to walk (BENCHMARKS.md, section 2).
    """

    user_id: str
    value: str
    channel: str | None = None
    message_ts: str | None = None
    trigger_id: str = ""

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        return cls(
            user_id=str(body["user"]["id"]),
            value=str(action.get("value") or "")[:200],
            channel=str(channel) if channel else None,
            message_ts=str((body.get("message") or {}).get("ts") or "") or None,
            trigger_id=str(body.get("trigger_id") or ""),
        )

    @property
    def request_id(self) -> int | None:
        """Button values are echoed by Slack and can be forged: they carry only a number, checked later."""
        return int(self.value) if self.value.isdigit() and len(self.value) < 12 else None


async def tell_clicker(client: AsyncWebClient, click: Click, text: str) -> None:
    """Answers the clicker only, where they clicked."""
    if click.channel:
        await client.chat_postEphemeral(channel=click.channel, user=click.user_id, text=text)


ClickWork = Callable[[SlackContext, AsyncWebClient, Click], Coroutine[Any, Any, None]]


def on_click(app: AsyncApp, ctx: SlackContext, action_id: str, work: ClickWork) -> None:
    """A button acked at once; its work runs as a background task holding only the `Click`."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        ctx.tasks.spawn(work(ctx, client, Click.of(body, action)), name=f"{action_id}-click")

    app.action(action_id)(listener)
