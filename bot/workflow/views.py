"""Reads one request with its servers and decisions, the unit every notice is drawn from."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bot.config import Target
from bot.domain import RequestRecord
from bot.store import Store
from bot.workflow.ports import RequestView


async def load_view(store: Store, targets: Mapping[str, Target], request: RequestRecord) -> RequestView:
    servers, decisions = await asyncio.gather(store.servers(request.id), store.decisions(request.id))
    target = targets.get(request.target)
    return RequestView(request, servers, decisions, target.approvers_channel if target else None)
