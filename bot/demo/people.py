"""The moves people make in Slack (a slash command, the form, a click, a deny, the Home tab), played
against one bot over HTTP as Slack would send them, signed.

One driver for the demo's `World`, the end-to-end tests' `Stack` (tests/support/harness.py) and the
benchmarks (bench/procs.py), whatever process the fake Slack lives in: what Slack received and shows is
read through a `SlackSide`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.demo.cast import APPROVERS_CHANNEL
from bot.demo.forms import button_value, deny_values, submission_values
from bot.demo.slack_side import CallMatch, SlackSide, latest_message, parsed_view
from bot.simulator.slack import (
    GENERAL_CHANNEL,
    JsonDict,
    SignedRequest,
    SlackRequests,
    StoredMessage,
    StoredView,
)
from bot.slack import ids

CARD_NUMBER = re.compile(r"#(\d+)")


class Refused(AssertionError):
    """The bot answered a move with something other than what a person goes on with (status, answer)."""


class People:
    """People in a Slack workspace, acting on the bot behind `events_url` (its ``/slack/events``).

    `requests` signs what Slack sends, `http` carries it, `side` is what Slack received and shows;
    `approvers_channel` is where the bot posts its approval cards.
    """

    def __init__(
        self,
        events_url: str,
        requests: SlackRequests,
        http: aiohttp.ClientSession,
        side: SlackSide,
        *,
        approvers_channel: str = APPROVERS_CHANNEL,
    ) -> None:
        self.events_url = events_url
        self.requests = requests
        self.http = http
        self.side = side
        self.approvers_channel = approvers_channel

    async def send(self, request: SignedRequest) -> tuple[int, str]:
        """POSTs a signed request to the bot; (HTTP status, answer body)."""
        return await self.requests.deliver(self.events_url, request, self.http)

    # -- the request form ----------------------------------------------------------------------

    async def command(self, user_id: str, text: str = "", *, trigger_id: str | None = None) -> SignedRequest:
        """The slash command as `user_id` types it, with a fresh trigger id (unless given) and response
        URL; signed, not sent (so a benchmark can time it)."""
        [trigger] = [trigger_id] if trigger_id is not None else await self.side.triggers(user_id)
        [url] = await self.side.response_urls(GENERAL_CHANNEL, user_id)
        return self.requests.slash_command(
            ids.COMMAND, text, user_id=user_id, trigger_id=trigger, response_url=url
        )

    async def open_modal(self, user_id: str, text: str = "") -> JsonDict:
        """Types the slash command; the modal it opened, as Slack echoes it (with its id, so a submission
        closes or updates this very modal), or as the bot sent it when Slack refused to open it."""
        since = await self.side.call_count()
        # This command's own trigger: a views.open that an earlier click caused may land meanwhile.
        [trigger] = await self.side.triggers(user_id)
        status, answer = await self.send(await self.command(user_id, text, trigger_id=trigger))
        if status != 200:
            raise Refused(f"the command got HTTP {status}: {answer[:300]}")
        call = await self.side.wait_for(CallMatch("views.open", equals={"trigger_id": trigger}), since=since)
        view = parsed_view(call)
        echoed = await self.side.open_view(user_id, str(view.get("callback_id", ""))) if call.ok else None
        return echoed if echoed is not None else view

    async def submit(
        self,
        user_id: str,
        view: Mapping[str, Any],
        *,
        target: str,
        servers: list[str],
        reason: str,
        mode: str = "shared",
        reboot: str = "none",
        tag: str | None = None,
        emergency: bool = False,
    ) -> tuple[int, str]:
        """Fills in the request form `view` (servers pasted) and submits it; (HTTP status, answer)."""
        values = submission_values(
            target=target,
            paste="\n".join(servers),
            reason=reason,
            mode=mode,
            reboot=reboot,
            tag=tag,
            emergency=emergency,
        )
        [trigger] = await self.side.triggers(user_id)
        request = self.requests.view_submission(user_id=user_id, view=view, values=values, trigger_id=trigger)
        return await self.send(request)

    async def new_request(
        self,
        user_id: str,
        servers: list[str],
        *,
        target: str,
        reason: str,
        mode: str = "shared",
        reboot: str = "none",
        tag: str | None = None,
        timeout: float = 20.0,  # noqa: ASYNC109  (seconds, for the card)
        approvable: bool = False,
    ) -> tuple[int, StoredMessage]:
        """Command, form, submission, card: the request's number and its card as an approver's Slack
        window shows it then (a copy: the bot edits the card in place later; `approvable`: once it
        carries an Approve button, see `card`). Refused when the form is not accepted as is."""
        since = await self.side.call_count()
        view = await self.open_modal(user_id)
        status, answer = await self.submit(
            user_id, view, target=target, servers=servers, reason=reason, mode=mode, reboot=reboot, tag=tag
        )
        if status != 200 or answer.strip():
            raise Refused(f"the form was refused ({status}): {answer[:300]}")
        posted = CallMatch("chat.postMessage", channel=self.approvers_channel, top_level=True)
        call = await self.side.wait_for(posted, timeout, since=since)
        number = CARD_NUMBER.search(str(call.args.get("text")))
        if number is None:
            raise LookupError(f"no request number in the card {call.args!r}")
        request_id = int(number.group(1))
        return request_id, copy.deepcopy(await self.card(request_id, timeout, approvable=approvable))

    # -- the approval card ---------------------------------------------------------------------

    async def card(
        self,
        request_id: int | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109  (seconds)
        *,
        approvable: bool = False,
    ) -> StoredMessage:
        """The approval card of request `request_id` (or the latest) as it stands now in the approvers'
        channel (the bot edits it in place); `approvable`: once it carries an Approve button (pre-flight
        ended). TimeoutError when it does not come within `timeout` seconds."""
        # A refused post (429, error) left no card behind: wait for one Slack accepted.
        posted = CallMatch(
            "chat.postMessage",
            channel=self.approvers_channel,
            text=None if request_id is None else f"#{request_id} ",
            top_level=True,
            ok=True,
        )
        call = await self.side.wait_for(posted, timeout)
        start = str(call.args.get("text")).split(" by ")[0]
        card = await self._card_now(start)
        if approvable and not _has_button(card, ids.APPROVE_ACTION):
            edited = CallMatch(
                "chat.update",
                channel=self.approvers_channel,
                contains=ids.APPROVE_ACTION,
                equals={"ts": card.ts},
                ok=True,
            )
            await self.side.wait_for(edited, timeout)
            card = await self._card_now(start)
        return card

    async def _card_now(self, text_start: str) -> StoredMessage:
        channel = self.approvers_channel
        return latest_message(await self.side.messages(channel), channel, text_start)

    async def click_request(
        self, user_id: str, action_id: str, message: StoredMessage, *, value: str | None = None
    ) -> SignedRequest:
        """A click on the button `action_id` of `message` by `user_id` (its value unless `value` is
        given), with fresh trigger id and response URL, signed but not sent (so a benchmark can time it)."""
        [trigger] = await self.side.triggers(user_id)
        [url] = await self.side.response_urls(message.channel, user_id, message.ts)
        return self.requests.block_actions(
            user_id=user_id,
            action_id=action_id,
            value=value if value is not None else button_value(message.blocks, action_id),
            channel_id=message.channel,
            message_ts=message.ts,
            message=message.as_api(),
            trigger_id=trigger,
            response_url=url,
        )

    async def click(
        self, user_id: str, action_id: str, message: StoredMessage, *, value: str | None = None
    ) -> tuple[int, str]:
        """Clicks the button `action_id` of a message as `user_id` would, value and all."""
        return await self.send(await self.click_request(user_id, action_id, message, value=value))

    async def deny(self, user_id: str, request_id: int, reason: str) -> tuple[int, str]:
        """Submits the deny-reason modal (as if the Deny click had opened it)."""
        view = {"callback_id": ids.DENY_MODAL, "private_metadata": str(request_id)}
        [trigger] = await self.side.triggers(user_id)
        request = self.requests.view_submission(
            user_id=user_id, view=view, values=deny_values(reason), trigger_id=trigger
        )
        return await self.send(request)

    # -- the Home tab --------------------------------------------------------------------------

    async def open_home(self, user_id: str) -> StoredView:
        """The person opens the bot's Home tab: Slack's event over HTTP, then the view it shows them."""
        since = await self.side.call_count()
        answers = await self.requests.deliver_event(
            self.events_url, self.requests.app_home_opened(user_id=user_id), self.http
        )
        if answers[-1][0] != 200:
            raise Refused(f"the Home tab event got {answers}")
        published = CallMatch("views.publish", equals={"user_id": user_id}, ok=True)
        await self.side.wait_for(published, since=since)
        home = await self.side.home(user_id)
        if home is None:
            raise LookupError(f"no Home tab published for {user_id}")
        return home


def _has_button(message: StoredMessage, action_id: str) -> bool:
    try:
        button_value(message.blocks, action_id)
    except LookupError:
        return False
    return True
