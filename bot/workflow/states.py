"""The request life cycle as data: which move is allowed from which states, written once."""

from __future__ import annotations

from enum import StrEnum

from bot.domain import RequestStatus as S


class Move(StrEnum):
    """The moves the workflow makes through `TRANSITIONS`. The last approval and the claim for execution
    are one transaction in the store (`Store.approve`: pending -> executing), so no move is listed here
    for it and no state lies between them."""

    PREFLIGHT_PASSED = "preflight_passed"
    PREFLIGHT_FAILED = "preflight_failed"
    FINISH_OK = "finish_ok"
    FINISH_PARTLY = "finish_partly"
    FINISH_FAILED = "finish_failed"
    DENY = "deny"
    CANCEL = "cancel"
    EXPIRE = "expire"


TRANSITIONS: dict[Move, tuple[frozenset[S], S]] = {
    Move.PREFLIGHT_PASSED: (frozenset({S.PREFLIGHT}), S.PENDING),
    Move.PREFLIGHT_FAILED: (frozenset({S.PREFLIGHT}), S.FAILED),
    Move.FINISH_OK: (frozenset({S.EXECUTING}), S.SUCCEEDED),
    Move.FINISH_PARTLY: (frozenset({S.EXECUTING}), S.PARTLY_FAILED),
    Move.FINISH_FAILED: (frozenset({S.EXECUTING}), S.FAILED),
    Move.DENY: (frozenset({S.PREFLIGHT, S.PENDING}), S.DENIED),
    Move.CANCEL: (frozenset({S.PREFLIGHT, S.PENDING}), S.CANCELLED),
    Move.EXPIRE: (frozenset({S.PREFLIGHT, S.PENDING}), S.EXPIRED),
}

OPEN_STATUSES = frozenset({S.PREFLIGHT, S.PENDING})
"""Requests people can still act on (approve, deny, cancel); everything after is the bot's or final."""

STATUS_WORDS: dict[S, str] = {
    S.PREFLIGHT: "checking with the cloud",
    S.PENDING: "waiting for approval",
    S.EXECUTING: "resetting passwords",
    S.SUCCEEDED: "done",
    S.PARTLY_FAILED: "partly failed",
    S.FAILED: "failed",
    S.DENIED: "denied",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
}
"""How a status reads in a sentence to a person, for every front end."""
