"""The password's way to its requester: the ephemeral copy, the Reveal offer (offered again while the
sealed copy lives), and what of it reached them, which the card and its thread say."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.metrics import PASSWORDS_UNDELIVERED
from bot.slack import sentences
from bot.slack.blocks.dm import ephemeral_passwords, reveal_offer
from bot.slack.notices.units import CARD_EDIT, REVEAL, REVEAL_OFFER, THREAD, NoticeUnits, Send, log
from bot.slack.refusals import RefusalKind, classify
from bot.workflow import Delivered, DeliveredSecret, MessageRef, RequestView

OFFER_RETRIES_S = (1.0, 2.0, 4.0)
"""The Reveal offer refused for a passing reason is tried again after these waits before the password
is declared undelivered (it is still offered later by the sweeper either way)."""


@dataclass(frozen=True)
class Delivery:
    """What of a password delivery reached the requester (the final card says it)."""

    ephemeral: bool
    offer: bool
    why: str = ""

    @property
    def reached(self) -> bool:
        return self.ephemeral or self.offer


class PasswordDelivery(NoticeUnits):
    """Delivers the password privately and remembers, per request, what of it reached the requester."""

    @functools.cached_property
    def _deliveries(self) -> dict[int, Delivery]:
        """This process's deliveries (made on first use, so every part shares the one constructor)."""
        return {}

    def reveal_offer(self, view: RequestView) -> MessageRef | None:
        """Where the request's Reveal offer (the DM with the button) is, if it was posted."""
        return self._ref(view, REVEAL)

    def _drawn(self, route: str) -> Send | None:
        return self._offer_again if route == REVEAL_OFFER else super()._drawn(route)

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> Delivered:
        """The ephemeral copy, then the Reveal offer (the reliable path). Returns whether either reached
        the requester; an offer refused for a reason that may pass is offered again by the sweeper while
        the sealed copy lives."""
        r = view.request
        self._changed(view)
        why: list[str] = []
        ephemeral = True
        try:
            channel = await self.dm_channel(r.requester_id)
            for blocks in ephemeral_passwords(r.id, secrets):
                await self.client.chat_postEphemeral(
                    channel=channel,
                    user=r.requester_id,
                    text=sentences.passwords_ephemeral(r.id),
                    blocks=blocks,
                )
        except Exception as exc:  # not guaranteed anyway: the Reveal button below is the reliable path
            ephemeral = False
            refusal = classify(exc)
            why.append(f"the private copy: {refusal.error}")
            log.warning("ephemeral delivery for request #%d failed: %s", r.id, refusal.error)

        async def offer(v: RequestView) -> None:
            await self._offer(v, reveal_token, reveal_expires_at)

        left = max((reveal_expires_at - self.clock.now()).total_seconds(), 0.0)
        refused = await self._unit(view, "reveal_offer", REVEAL_OFFER, send=offer, matters_for_s=left)
        for wait_s in OFFER_RETRIES_S:  # a rate limit or a blip passes: do not call it undelivered yet
            if refused is None or refused.kind != RefusalKind.RETRY_LATER:
                break
            await asyncio.sleep(wait_s)
            refused = await self._unit(view, "reveal_offer", REVEAL_OFFER, send=offer, matters_for_s=left)
        if refused is not None:
            why.append(f"the Reveal offer: {refused.error}")
        delivery = Delivery(ephemeral, refused is None, "; ".join(why))
        self._deliveries[r.id] = delivery
        if not delivery.reached:
            PASSWORDS_UNDELIVERED.inc()
            log.error(
                "password(s) of request #%d reached nobody (%s); the Reveal is offered again while it lives",
                r.id,
                delivery.why,
            )
        return Delivered(self._take_sent(r.id), delivery.reached)

    async def _offer(self, v: RequestView, token: str, expires_at: datetime, *, again: bool = False) -> None:
        r = v.request
        channel = await self.dm_channel(r.requester_id)
        ref = await self._post(channel, sentences.reveal_ready(r.id), reveal_offer(r.id, token, expires_at))
        self._remember(r.id, REVEAL, ref)
        # Offered again and unknown here (another replica delivered, or before a restart): it was owed
        # because the offer had not reached.
        if again and not self._deliveries.get(r.id, Delivery(False, False)).reached:
            # Offered late by the sweeper: the card now says the password can be fetched.
            self._deliveries[r.id] = Delivery(False, True)
            await self._unit(v, "card", CARD_EDIT)
            await self._unit(v, "thread_offered", THREAD, sentences.offer_reached_late(r.requester_id))

    async def _offer_again(self, v: RequestView) -> None:
        """The Reveal offer owed since an earlier refusal, while the password can still be revealed."""
        found = await self.ledger.reveal_offer_of(v.request.id, self.clock.now())
        if found is not None:
            await self._offer(v, *found, again=True)

    def _delivery_line(self, view: RequestView, delivery: Delivery) -> str:
        if not delivery.reached:
            return self._undelivered_line(view, delivery)
        return sentences.delivered(view.request.requester_id, delivery.ephemeral, delivery.offer)

    @staticmethod
    def _undelivered_line(view: RequestView, delivery: Delivery) -> str:
        return sentences.undelivered(view.request.requester_id, delivery.why)
