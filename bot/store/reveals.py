"""Sealed secrets and the one-time reveal."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import RowMapping, select, update

from bot.domain import RevealOutcome, RevealResult
from bot.store import schema
from bot.store.engine import Database
from bot.store.statements import seal

_V = schema.reveals


class Reveals(Database):
    """Passwords sealed until their one reveal, then forgotten."""

    async def seal_secret(self, request_id: int, user_id: str, plaintext: str) -> str:
        """Keep the generated password(s) encrypted so a crash before delivery loses nothing.

        `plaintext` is opaque to the store (the workflow may JSON-encode one password per server). Not
        revealable until `finish_execution` arms it. Sealing again for the same request replaces the
        secret and the token.
        Returns the reveal token. Raises `UnknownRequest` when there is no such request, else
        `StoreUnavailable`.
        """
        ciphertext = self._sealer.seal(plaintext)
        async with self._begin(write=True) as conn:
            return await seal(conn, request_id, user_id, ciphertext, self._clock.now())

    async def unseal_secret(self, request_id: int) -> str | None:
        """Decrypt to resume an execution after a crash; None once revealed, expired or erased.
        Raises `SecretUnreadable` when no configured key opens it, else `StoreUnavailable`."""
        query = select(_V.c.ciphertext).where(_V.c.request_id == request_id)
        async with self._begin() as conn:
            ciphertext = (await conn.execute(query)).scalar_one_or_none()
        return None if ciphertext is None else self._sealer.unseal(ciphertext)

    async def lease_reveal(
        self, token: str, user_id: str, now: datetime, lease_until: datetime
    ) -> RevealResult:
        """Hand the secret to one click of its owner, within its window, to show; erase nothing yet.

        The secret is erased only by `confirm_reveal` once the front end showed it, so a chat that refuses
        to show it (an expired trigger) loses nothing; `release_reveal` frees it at once for the next
        click, and a holder that never comes back (a crash) loses the lease at `lease_until`. While a lease
        is live, other clicks get BEING_SHOWN: the row is locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
        on SQLite) and the lease written in the same transaction, so concurrent clicks on any replica hand
        it out at most once at a time. Returns LEASED with `secret` and `lease`, or the refusal.
        Raises `SecretUnreadable` (no lease is left) when no configured key opens it, else `StoreUnavailable`.
        """
        async with self._begin(write=True) as conn:
            row = (
                (await conn.execute(select(_V).where(_V.c.token == token).with_for_update()))
                .mappings()
                .first()
            )
            refusal = _why_not_revealable(row, user_id, now)
            if refusal is not None:
                return refusal
            assert row is not None
            request_id, expires_at = row["request_id"], row["expires_at"]
            if row["leased_until"] is not None and row["leased_until"] > now:
                return RevealResult(RevealOutcome.BEING_SHOWN, request_id=request_id, expires_at=expires_at)
            lease = secrets.token_urlsafe(16)
            await conn.execute(
                update(_V).where(_V.c.token == token).values(lease=lease, leased_until=lease_until)
            )
            # Decrypt before commit: a wrong key raises, the transaction rolls back, no lease is left.
            secret = self._sealer.unseal(row["ciphertext"])
            return RevealResult(
                RevealOutcome.LEASED, request_id=request_id, secret=secret, lease=lease, expires_at=expires_at
            )

    async def confirm_reveal(self, token: str, lease: str, now: datetime) -> bool:
        """The leased secret was shown: erase it for good. False when this lease no longer holds it
        (it lapsed and another click took it, or the window closed and the sweeper erased it).
        Raises `StoreUnavailable`."""
        stmt = (
            update(_V)
            .where(_V.c.token == token, _V.c.lease == lease, _V.c.ciphertext.is_not(None))
            .values(ciphertext=None, revealed_at=now, lease=None, leased_until=None)
        )
        async with self._begin(write=True) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def release_reveal(self, token: str, lease: str) -> None:
        """The leased secret was not shown: the next click may reveal it (within its window).
        Raises `StoreUnavailable`."""
        stmt = (
            update(_V).where(_V.c.token == token, _V.c.lease == lease).values(lease=None, leased_until=None)
        )
        async with self._begin(write=True) as conn:
            await conn.execute(stmt)

    async def erase_expired_reveals(self, now: datetime) -> int:
        """Drop ciphertexts whose reveal window has closed; returns how many were erased.
        Raises `StoreUnavailable`."""
        stmt = (
            update(_V)
            .where(_V.c.ciphertext.is_not(None), _V.c.expires_at.is_not(None), _V.c.expires_at <= now)
            .values(ciphertext=None)
        )
        async with self._begin(write=True) as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)


def _why_not_revealable(row: RowMapping | None, user_id: str, now: datetime) -> RevealResult | None:
    """None when the row may be revealed now to this user; otherwise the reason it may not."""
    if row is None or row["expires_at"] is None:
        # Unknown, or sealed but never armed: nothing to reveal through this token.
        return RevealResult(RevealOutcome.NOT_FOUND)
    request_id = row["request_id"]
    if row["user_id"] != user_id:
        return RevealResult(RevealOutcome.WRONG_USER, request_id=request_id)
    if row["revealed_at"] is not None:
        return RevealResult(RevealOutcome.ALREADY_REVEALED, request_id=request_id)
    if row["ciphertext"] is None or row["expires_at"] <= now:
        return RevealResult(RevealOutcome.EXPIRED, request_id=request_id)
    return None
