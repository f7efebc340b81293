"""Break-glass confirmations held in the database: the checked submission waits here under a random key,
so the confirmation modal carries only the key (any number of servers fits) and any replica can take it.

Taking is one compare-and-set (an UPDATE … WHERE not taken, not expired, this user … RETURNING): of a
double click, a replay, or two replicas at once, exactly one gets the submission.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select, update

from bot.domain import PasswordMode, RebootMode
from bot.store import schema
from bot.store.engine import Database

_H = schema.break_glass_holds


@dataclass(frozen=True)
class BreakGlassHold:
    """What a break-glass confirmation stands for: the requester's checked submission, servers by ID.
    The reason and the IDs are the requester's words (data, never interpreted by the store)."""

    user_id: str
    target: str
    server_ids: tuple[str, ...]
    reason: str
    password_mode: PasswordMode
    reboot: RebootMode
    expires_at: datetime


class HoldOutcome(StrEnum):
    TAKEN = "taken"
    UNKNOWN = "unknown"
    """No hold has this key: never made, forged, or swept after it expired."""
    NOT_YOURS = "not_yours"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class HoldTaken:
    """What `take_break_glass_hold` did: `hold` only with TAKEN."""

    outcome: HoldOutcome
    hold: BreakGlassHold | None = None


def key_hash(key: str) -> str:
    """The key's SHA-256 (hex): what the table keeps, so a copy of the database holds no usable key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class BreakGlassHolds(Database):
    """Holds made when the confirmation is shown, taken once when it is submitted, swept once expired."""

    async def hold_break_glass(
        self,
        user_id: str,
        target: str,
        server_ids: Sequence[str],
        reason: str,
        password_mode: PasswordMode,
        reboot: RebootMode,
        *,
        expires_at: datetime,
    ) -> str:
        """Keeps a checked break-glass submission until `expires_at` (aware UTC); returns its key, 32
        URL-safe characters from `secrets`, for the confirmation to carry. Raises StoreUnavailable."""
        key = secrets.token_urlsafe(24)
        row: dict[str, Any] = {
            "key_hash": key_hash(key),
            "user_id": user_id,
            "target": target,
            "password_mode": password_mode.value,
            "reboot": reboot.value,
            "reason": reason,
            "server_ids": list(server_ids),
            "created_at": self._clock.now(),
            "expires_at": expires_at,
        }
        async with self._begin(write=True) as conn:
            await conn.execute(insert(_H).values(**row))
        return key

    async def take_break_glass_hold(self, key: str, user_id: str, now: datetime) -> HoldTaken:
        """The hold `key` names, for `user_id`, once, while `now` is before its expiry: TAKEN with the
        hold, which no later call gets again (whatever the replica). Otherwise the reason, and nothing
        changes: UNKNOWN, NOT_YOURS (someone else's: it stays theirs), USED, EXPIRED. Raises
        StoreUnavailable."""
        hashed = key_hash(key)
        async with self._begin(write=True) as conn:
            taken = (
                (
                    await conn.execute(
                        update(_H)
                        .where(
                            _H.c.key_hash == hashed,
                            _H.c.user_id == user_id,
                            _H.c.taken_at.is_(None),
                            _H.c.expires_at > now,
                        )
                        .values(taken_at=now)
                        .returning(_H)
                    )
                )
                .mappings()
                .first()
            )
            if taken is not None:
                return HoldTaken(HoldOutcome.TAKEN, _hold(taken))
            # Lost: read why, for the sentence only (the UPDATE above decided).
            row = (await conn.execute(select(_H).where(_H.c.key_hash == hashed))).mappings().first()
        if row is None:
            return HoldTaken(HoldOutcome.UNKNOWN)
        if row["user_id"] != user_id:
            return HoldTaken(HoldOutcome.NOT_YOURS)
        if row["taken_at"] is not None:
            return HoldTaken(HoldOutcome.USED)
        return HoldTaken(HoldOutcome.EXPIRED)

    async def drop_expired_break_glass_holds(self, now: datetime) -> int:
        """Deletes the holds whose expiry is at or before `now` (taken or not); returns how many. Safe on
        every replica at once. Raises StoreUnavailable."""
        async with self._begin(write=True) as conn:
            result = await conn.execute(delete(_H).where(_H.c.expires_at <= now))
        return int(result.rowcount)


def _hold(row: RowMapping) -> BreakGlassHold:
    server_ids = row["server_ids"]
    if not isinstance(server_ids, list):  # written by `hold_break_glass` only; read defensively
        server_ids = []
    return BreakGlassHold(
        user_id=row["user_id"],
        target=row["target"],
        server_ids=tuple(str(s) for s in server_ids),
        reason=row["reason"],
        password_mode=PasswordMode(row["password_mode"]),
        reboot=RebootMode(row["reboot"]),
        expires_at=row["expires_at"],
    )
