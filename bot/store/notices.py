"""Notices the chat refused, owed until they land: kept here so a restart or another replica sends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import OwedNotice
from bot.store import schema
from bot.store.engine import Database

_N = schema.notices_owed
_P = schema.post_claims
_V = schema.reveals


def _owed(row: RowMapping) -> OwedNotice:
    return OwedNotice(
        request_id=row["request_id"],
        unit=row["unit"],
        route=row["route"],
        text=row["text"],
        attempts=row["attempts"],
        next_at=row["next_at"],
        until=row["until"],
    )


async def _request_exists(conn: AsyncConnection, request_id: int) -> bool:
    query = select(schema.requests.c.id).where(schema.requests.c.id == request_id)
    return (await conn.execute(query)).first() is not None


class Notices(Database):
    """The workflow's NoticeLedger: one row per request and notice unit; taken by compare-and-set."""

    async def owe_notice(self, notice: OwedNotice) -> None:
        """Keeps `notice`; one already owed for the same request and unit is replaced, keeping its `until`
        (a notice refused again and again still stops mattering when the first refusal said). A request
        that no longer exists owes nothing. Raises `StoreUnavailable`."""
        async with self._begin(write=True) as conn:
            dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            exists = await conn.execute(
                select(schema.requests.c.id).where(schema.requests.c.id == notice.request_id)
            )
            if exists.first() is None:
                return
            stmt = dialect_insert(_N).values(
                request_id=notice.request_id,
                unit=notice.unit,
                route=notice.route,
                text=notice.text,
                attempts=notice.attempts,
                next_at=notice.next_at,
                until=notice.until,
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[_N.c.request_id, _N.c.unit],
                    set_={
                        "route": stmt.excluded.route,
                        "text": stmt.excluded.text,
                        "attempts": stmt.excluded.attempts,
                        "next_at": stmt.excluded.next_at,
                    },
                )
            )

    async def notices_due(self, now: datetime, *, limit: int = 100) -> list[OwedNotice]:
        """Owed notices whose `next_at` has come, oldest first, at most `limit`. Raises `StoreUnavailable`."""
        query = select(_N).where(_N.c.next_at <= now).order_by(_N.c.next_at).limit(limit)
        async with self._begin() as conn:
            return [_owed(row) for row in (await conn.execute(query)).mappings()]

    async def take_notice(self, notice: OwedNotice, hold_until: datetime) -> bool:
        """Compare-and-set on `next_at`: True for the one caller that moved it from what it read to
        `hold_until` (that caller sends it; the others leave it). Raises `StoreUnavailable`."""
        stmt = (
            update(_N)
            .where(
                _N.c.request_id == notice.request_id,
                _N.c.unit == notice.unit,
                _N.c.next_at == notice.next_at,
            )
            .values(next_at=hold_until)
        )
        async with self._begin(write=True) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def settle_notice(self, request_id: int, unit: str) -> None:
        """The notice landed or no longer matters. Raises `StoreUnavailable`."""
        stmt = delete(_N).where(_N.c.request_id == request_id, _N.c.unit == unit)
        async with self._begin(write=True) as conn:
            await conn.execute(stmt)

    async def claim_post(self, request_id: int, what: str, now: datetime, until: datetime) -> bool:
        """Compare-and-set: True for the one caller that may post the request's message `what` now (no
        claim on it, or the last one ended by `now`); it holds it until `until`. A request that no longer
        exists has nothing to post (False). Raises `StoreUnavailable`."""
        async with self._begin(write=True) as conn:
            dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            if not await _request_exists(conn, request_id):
                return False
            stmt = dialect_insert(_P).values(request_id=request_id, what=what, until=until)
            stmt = stmt.on_conflict_do_update(
                index_elements=[_P.c.request_id, _P.c.what],
                set_={"until": stmt.excluded.until},
                where=_P.c.until <= now,
            )
            return (await conn.execute(stmt)).rowcount == 1

    async def release_post(self, request_id: int, what: str) -> None:
        """Gives the claim on the request's message `what` back (its post failed).
        Raises `StoreUnavailable`."""
        stmt = delete(_P).where(_P.c.request_id == request_id, _P.c.what == what)
        async with self._begin(write=True) as conn:
            await conn.execute(stmt)

    async def reveal_offer_of(self, request_id: int, now: datetime) -> tuple[str, datetime] | None:
        """The token and end of the request's one-time reveal while it can be revealed (armed, sealed,
        not revealed, not expired); None otherwise. Raises `StoreUnavailable`."""
        query = select(_V.c.token, _V.c.expires_at).where(
            _V.c.request_id == request_id,
            _V.c.ciphertext.is_not(None),
            _V.c.revealed_at.is_(None),
            _V.c.expires_at.is_not(None),
            _V.c.expires_at > now,
        )
        async with self._begin() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (str(row.token), row.expires_at)
