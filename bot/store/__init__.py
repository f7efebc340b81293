"""Persistence for the bot: requests, approvals, audit trail and sealed one-time secrets."""

# The domain's words are re-exported because the store's API speaks them; they live in bot.domain.
from bot.domain import (
    FINAL_STATUSES,
    AuditRecord,
    Decision,
    DecisionRecord,
    NewRequest,
    NewServer,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    RevealOutcome,
    ServerPhase,
    ServerRecord,
)
from bot.store.errors import SecretUnreadable, StoreError, StoreUnavailable, UnknownRequest
from bot.store.records import RevealResult, ServerUpdate
from bot.store.sealing import Sealer
from bot.store.store import Store

__all__ = [
    "FINAL_STATUSES",
    "AuditRecord",
    "Decision",
    "DecisionRecord",
    "NewRequest",
    "NewServer",
    "PasswordMode",
    "RebootMode",
    "RequestRecord",
    "RequestStatus",
    "RevealOutcome",
    "RevealResult",
    "Sealer",
    "SecretUnreadable",
    "ServerPhase",
    "ServerRecord",
    "ServerUpdate",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownRequest",
]
