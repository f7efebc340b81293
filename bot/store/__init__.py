"""Persistence for the bot: requests, approvals, audit trail and sealed one-time secrets.

The records it reads and writes are the domain's (`bot.domain`); this package adds only the store's own
row changes and transaction results (`bot.store.records`).
"""

from bot.store.breakglass import BreakGlassCreated
from bot.store.errors import SecretUnreadable, StoreError, StoreUnavailable, UnknownRequest
from bot.store.holds import BreakGlassHold, HoldOutcome, HoldTaken
from bot.store.records import RevealResult, ServerUpdate
from bot.store.sealing import Sealer
from bot.store.store import Store

__all__ = [
    "BreakGlassCreated",
    "BreakGlassHold",
    "HoldOutcome",
    "HoldTaken",
    "RevealResult",
    "Sealer",
    "SecretUnreadable",
    "ServerUpdate",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownRequest",
]
