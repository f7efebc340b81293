"""The one place that reads and writes the database: compare-and-set moves, sealed secrets, the audit trail.

Every state change is a single conditional statement (or one short transaction), so two replicas clicking
at once cannot both win. SQLite is the default; PostgreSQL is for several replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SYSTEM_CLOCK, Clock
from bot.store.audit import Audit
from bot.store.breakglass import BreakGlassStore
from bot.store.decisions import Decisions
from bot.store.engine import MIGRATIONS_DIR, open_engine
from bot.store.execution import Executions
from bot.store.group_commit import GroupCommit
from bot.store.holds import BreakGlassHolds
from bot.store.home import Overviews
from bot.store.notices import Notices
from bot.store.requests import Requests
from bot.store.reveals import Reveals
from bot.store.sealing import Sealer

__all__ = ["MIGRATIONS_DIR", "Store"]


class Store(
    BreakGlassStore, BreakGlassHolds, Requests, Decisions, Executions, Reveals, Overviews, Notices, Audit
):
    """Async access to requests, servers, decisions, audit events and sealed secrets.

    Build it with `await Store.open(url, secret_keys=[...])`, then `await store.migrate()` once at start.
    Timestamps in and out are timezone-aware UTC. Audit `detail` must never hold a secret: the workflow
    passes only ids, names, counts and error codes there (the store cannot tell a password from a name).

    Its public methods, each in this map (tests/test_facades.py checks it), by part, one module each:
    building and the schema (`store.py`, `engine`: `open(url, secret_keys=)`, `migrate()`,
    `schema_revisions()`, `ping()`, `close()`); requests and their servers (`requests`:
    `create_request_once(...)`, `request_for_submission(key)`, `get_request(id)`, `list_requests(...)`,
    `count_requests(...)`, `open_requests_with(...)`, `transition(...)`, `requests_in(statuses)`,
    `due_for_expiry(now)`, `due_for_reminder(before)`, `mark_reminded(...)`, `take_over_stalled(...)`,
    `set_message_refs(...)`, `servers(id)`, `update_servers(...)`); decisions (`decisions`:
    `approve(...)`, `add_decision(...)`, `decisions(id)`); the execution's claim (`execution`:
    `start_execution(...)`, `heartbeat(...)`, `finish_execution(...)`, `stale_executions(older_than)`,
    `take_over_execution(...)`); sealed secrets (`reveals`: `seal_secret(...)`, `unseal_secret(id)`,
    `lease_reveal(...)`, `confirm_reveal(...)`, `release_reveal(...)`, `erase_expired_reveals(now)`);
    one person's overview (`home`: `awaiting_decision(...)`, `revealable(...)`, `reveal_token_of(id)`);
    break-glass (`breakglass`: `create_break_glass_request(...)`, `last_break_glass(...)`,
    `release_break_glass(...)`, `start_break_glass(...)`, `review_break_glass(...)`,
    `awaiting_review(started_before)`, `mark_review_reminded(...)`); break-glass confirmations waiting
    for their requester (`holds`: `hold_break_glass(...)`, `take_break_glass_hold(...)`,
    `drop_expired_break_glass_holds(now)`); the notices a chat refused, the workflow's `NoticeLedger`
    (`notices`: `owe_notice(notice)`, `notices_due(now)`, `take_notice(...)`, `settle_notice(...)`,
    `claim_post(...)`, `release_post(...)`, `reveal_offer_of(...)`); and the trail (`audit`:
    `add_audit(...)`, `audit(...)`). A compare-and-set that lost returns None or False, never raises.

    Errors: every call raises `StoreUnavailable` when the database does not answer (nothing was written);
    calls naming a request that does not exist raise `UnknownRequest` where they say so; reading a
    sealed secret no configured key opens raises `SecretUnreadable`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sealer: Sealer,
        *,
        schema_name: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(engine, sealer, schema_name=schema_name, clock=clock)
        self._audit_rows: GroupCommit[dict[str, Any]] = GroupCommit(self._insert_audit)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        secret_keys: Sequence[str],
        echo: bool = False,
        schema: str | None = None,
        connect_timeout: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Store:
        """Build the store without connecting; `schema` (PostgreSQL only) puts every table in that schema.
        Raises ValueError for a bad secret key, a database other than SQLite or PostgreSQL, or `schema`
        on SQLite. `clock`: where the timestamps the store writes itself come from."""
        sealer = Sealer(secret_keys)
        engine = await open_engine(url, echo=echo, schema=schema, connect_timeout=connect_timeout)
        return cls(engine, sealer, schema_name=schema, clock=clock)
