"""The notice unit: one Slack write that a refusal never lets skip the others, owed and sent again
when the refusal may pass; and where the bot's messages are (their refs, the DM channels)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SYSTEM_CLOCK, Clock
from bot.metrics import NOTIFICATION_FAILURES
from bot.slack.refusals import HANDLING, Refusal, RefusalKind, classify
from bot.workflow import MessageRef, NoticeLedger, OwedNotice, RequestView, SentMessages

log = logging.getLogger("bot.slack.notifier")
"""One logger for the whole notifier, whichever part speaks (operators filter on it)."""

RETRY_FOR_S = 24 * 3600.0
"""A failed notice is sent again for up to a day; after that it no longer matters."""
RETRY_MAX_WAIT_S = 300.0
"""Backoff between attempts doubles from 2 s up to this."""
POST_CLAIM_HOLD = timedelta(minutes=2)
"""A replica posting a card or DM holds it this long: its ref is kept with the request well before then."""
RETRY_HOLD = timedelta(minutes=2)
"""A replica sending an owed notice holds it this long: if it stops meanwhile, another sends it then."""

CARD, DM, REVEAL = "card", "dm", "reveal"

# How an owed notice is drawn again (OwedNotice.route): from the request's latest state, or its text.
# The ledger keeps these names, so they are written once, here, whichever part sends them.
POST_CARD, REQUESTER_DM, REQUESTER_STATUS, CARD_EDIT = "card_post", "requester_dm", "requester_status", "card"
THREAD, TO_REQUESTER, AUDIT, REVEAL_OFFER = "thread", "to_requester", "audit", "reveal_offer"
BREAK_GLASS_CARD, TO_USER = "break_glass_card", "to_user:"
"""`to_user:U…`: a DM line to that person (an approver told of a break-glass)."""

Send = Callable[[RequestView], Awaitable[None]]


class NoticeUnits:
    """Sends each notice as its own unit, keeps where its messages are, and owes the refused ones in the
    `ledger` (the store: it outlives this process) until the sweeper's `retry_failed` sends them."""

    def __init__(
        self,
        client: AsyncWebClient,
        ledger: NoticeLedger,
        *,
        audit_channel: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.audit_channel = audit_channel
        self.clock = clock
        # Posted by this process and not yet handed to the workflow (late posts: retries, a re-posted
        # card), and the newest ref per message, read before the view's (which may lag behind).
        self._sent: dict[int, dict[str, MessageRef]] = {}
        self._moved: dict[tuple[int, str], MessageRef] = {}
        self._dm_channels: dict[str, str] = {}
        self._owed: set[tuple[int, str]] = set()
        """Notices this process knows are owed (kept in the ledger): a success settles them there."""
        self.on_change: Callable[[RequestView], None] | None = None
        """Told of every change of a request this notifier hears of (the Home tabs' publisher)."""

    def _changed(self, view: RequestView) -> None:
        if self.on_change is not None:
            self.on_change(view)

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    def _remember(self, request_id: int, key: str, ref: MessageRef) -> None:
        self._sent.setdefault(request_id, {})[key] = ref
        self._moved[(request_id, key)] = ref

    def _take_sent(self, request_id: int) -> SentMessages:
        return self._sent.pop(request_id, {})

    def _ref(self, view: RequestView, key: str) -> MessageRef | None:
        stored = view.request.message_refs.get(key)
        newer = self._moved.get((view.request.id, key))
        if newer is not None and newer == stored:
            del self._moved[(view.request.id, key)]  # the workflow has it now
        return newer or stored

    def _shown(self, view: RequestView, key: str) -> bool:
        return self._ref(view, key) is not None

    async def _post(
        self, channel: str, text: str, blocks: Sequence[Block] | None = None, thread_ts: str | None = None
    ) -> MessageRef:
        response = await self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=list(blocks) if blocks else None,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(str(response["channel"]), str(response["ts"]))

    @contextlib.asynccontextmanager
    async def _only_here(self, request_id: int, what: str) -> AsyncIterator[bool]:
        """Whether this replica may post the request's message `what` now (a claim in the ledger, held
        until its ref is surely kept with the request); a post that fails gives the claim back at once,
        so its retry is not turned away."""
        now = self.clock.now()
        if not await self.ledger.claim_post(request_id, what, now, now + POST_CLAIM_HOLD):
            log.info("request #%d: %s is being posted by another replica", request_id, what)
            yield False
            return
        try:
            yield True
        except BaseException:
            await self.ledger.release_post(request_id, what)
            raise

    # -- notice units ---------------------------------------------------------------------------------

    async def _unit(
        self,
        view: RequestView,
        unit: str,
        route: str,
        text: str | None = None,
        *,
        send: Send | None = None,
        matters_for_s: float = RETRY_FOR_S,
        attempts: int = 1,
    ) -> Refusal | None:
        """Sends one notice (`send`, or the one `route` and `text` draw); a refusal is counted, logged,
        and owed in the ledger when retrying helps. Returns the refusal, or None when it landed."""
        key = (view.request.id, unit)
        try:
            await (send or self._sender(route, text))(view)
        except Exception as exc:
            refusal = classify(exc)
            NOTIFICATION_FAILURES.labels(unit).inc()
            level = logging.ERROR if refusal.kind == RefusalKind.OPERATOR_MUST_FIX else logging.WARNING
            log.log(
                level,
                "notice %s of request #%d not sent: %s %s",
                unit,
                view.request.id,
                refusal.method,
                refusal.error,
            )
            if HANDLING[refusal.kind].retry:
                now = self.clock.now()
                owed = OwedNotice(
                    view.request.id,
                    unit,
                    route,
                    text,
                    attempts,
                    next_at=now + timedelta(seconds=min(2.0**attempts, RETRY_MAX_WAIT_S)),
                    until=now + timedelta(seconds=matters_for_s),
                )
                try:
                    await self.ledger.owe_notice(owed)
                    self._owed.add(key)
                except Exception as ledger_exc:
                    log.error("notice %s of request #%d is lost: %s", unit, view.request.id, ledger_exc)
            return refusal
        if key in self._owed:
            self._owed.discard(key)
            await self.ledger.settle_notice(*key)
        return None

    async def _owe_ahead(self, view: RequestView, units: Sequence[tuple[str, str, str | None]]) -> None:
        """An outbox for notices that must reach people even if this process stops before they land (a
        break-glass runs without waiting for anyone): each `(unit, route, text)` is owed in the ledger
        before it is sent, due only after `RETRY_HOLD`, and settled as it lands. Should this process stop
        first, the sweeper of whichever replica runs next sends what is left. A ledger that cannot take
        them does not hold the notices up: they are sent all the same (logged)."""
        now = self.clock.now()
        for unit, route, text in units:
            owed = OwedNotice(
                view.request.id,
                unit,
                route,
                text,
                0,
                next_at=now + RETRY_HOLD,
                until=now + timedelta(seconds=RETRY_FOR_S),
            )
            try:
                await self.ledger.owe_notice(owed)
            except Exception as exc:
                log.warning("notice %s of request #%d not kept ahead: %s", unit, view.request.id, exc)
                continue
            self._owed.add((view.request.id, unit))

    def _sender(self, route: str, text: str | None) -> Send:
        """How an owed notice is sent again: drawn from the request's latest state, or its own text."""
        drawn = self._drawn(route)
        if drawn is not None:
            return drawn
        line = text or ""
        if route.startswith(TO_USER):
            return self._dm_line(route.removeprefix(TO_USER), line)
        if route == THREAD:
            return self._thread(line)
        if route == TO_REQUESTER:
            return self._dm_line(None, line)
        if route == AUDIT:
            return self._to_audit(line)
        raise ValueError(f"unknown notice route {route!r}")

    def _drawn(self, route: str) -> Send | None:
        """The sender of a notice drawn from the request's latest state; each part adds the routes it
        sends (and asks the part before it for the others)."""
        return None

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        """Sends again every owed notice that is due, from its request's latest view, each on one replica
        only (the ledger's compare-and-set); drops those that no longer matter (their time is up, or the
        request is gone). Returns what it posted anew."""
        now = self.clock.now()
        for owed in await self.ledger.notices_due(now):
            key = (owed.request_id, owed.unit)
            if owed.until <= now:
                log.warning(
                    "gave up on notice %s of request #%d after %d attempts",
                    owed.unit,
                    owed.request_id,
                    owed.attempts,
                )
                await self.ledger.settle_notice(*key)
                continue
            if not await self.ledger.take_notice(owed, now + RETRY_HOLD):
                continue  # another replica is sending it
            self._owed.add(key)
            view = await load(owed.request_id)
            if view is None:
                self._owed.discard(key)
                await self.ledger.settle_notice(*key)
                continue
            left = (owed.until - now).total_seconds()
            await self._unit(
                view, owed.unit, owed.route, owed.text, matters_for_s=left, attempts=owed.attempts + 1
            )
        sent, self._sent = self._sent, {}
        return sent

    # -- notices drawn from their own text ------------------------------------------------------------

    def _thread(self, text: str) -> Send:
        async def send(v: RequestView) -> None:
            card = self._ref(v, CARD)
            if card:
                await self._post(card.channel_id, text, thread_ts=card.message_ts)

        return send

    def _dm_line(self, user_id: str | None, text: str) -> Send:
        """A line in the bot's DM with `user_id` (None: the request's requester)."""

        async def send(v: RequestView) -> None:
            await self._post(await self.dm_channel(user_id or v.request.requester_id), text)

        return send

    def _to_audit(self, text: str) -> Send:
        async def send(_: RequestView) -> None:
            if self.audit_channel:
                await self._post(self.audit_channel, text)

        return send

    async def _audit(self, view: RequestView, what: str, line: str) -> None:
        if self.audit_channel:
            await self._unit(view, f"audit_{what}", AUDIT, line)
