"""Reads one request with its servers and decisions, the unit every notice is drawn from; keeps where
the notices went."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.config import Target
from bot.domain import RequestRecord
from bot.store import Store
from bot.workflow.ports import RequestView, SentMessages

log = logging.getLogger(__name__)


async def load_view(store: Store, targets: Mapping[str, Target], request: RequestRecord) -> RequestView:
    servers, decisions = await asyncio.gather(store.servers(request.id), store.decisions(request.id))
    target = targets.get(request.target)
    return RequestView(request, servers, decisions, target.approvers_channel if target else None)


async def keep_message_refs(store: Store, request_id: int, sent: SentMessages | None) -> None:
    """Stores where a notice's messages went; a store failure is logged, not raised: the notice was
    delivered, and the sweeper's `ensure_shown` posts what a request is still missing."""
    if not sent:
        return
    try:
        await store.set_message_refs(request_id, sent)
    except Exception as exc:
        log.error("where the messages of request #%d went could not be stored: %s", request_id, exc)
