"""A break-glass's cooldown given back when the attempt reset nothing, from pre-flight or from execution
(which `breakglass` imports, so this sits below both)."""

from __future__ import annotations

import logging

from bot.domain import RequestRecord
from bot.store import Store

log = logging.getLogger(__name__)


async def release_cooldown(store: Store, request: RequestRecord, why: str) -> None:
    """Frees the requester's break-glass cooldown for this request's target when `request` is a
    break-glass; `why` ("pre-flight", "nothing reset") goes into the audit event. Never raises: a store
    that fails leaves the cooldown in place (logged), which only delays the next attempt."""
    if request.break_glass is None:
        return
    try:
        if await store.release_break_glass(request.id, why):
            log.info("break-glass #%d reset nothing (%s): its cooldown is given back", request.id, why)
    except Exception as exc:
        log.error("cooldown of break-glass #%d not released: %s", request.id, exc)
