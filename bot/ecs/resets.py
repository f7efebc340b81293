"""Password resets: batch calls of at most 1000 servers, the single-server fallback, and one result per server
(reset_results).

The password goes into the request body only: it is never logged, never put into an exception, never kept.
Every call is announced (`on_before_call`) before it goes, and goes only once that returned
(announcements); each call's results are handed over (`on_results`) as soon as they are known.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bot.ecs import reset_results
from bot.ecs.announcements import BeforeCall, Marks, MarksAhead, MarksAtCall, Pace
from bot.ecs.caller import Caller
from bot.ecs.errors import EcsApiNotFound, EcsCredentialsRefused, EcsError
from bot.ecs.models import ResetOutcome, ServerResetResult

__all__ = ["BATCH_LIMIT", "AfterCall", "BeforeCall", "Resets"]

log = logging.getLogger("bot.ecs")

#: The API's limit of servers per batch call (more answers Ecs.0118).
BATCH_LIMIT = 1000

AfterCall = Callable[[list[ServerResetResult]], Awaitable[None]]
"""Awaited with each call's results as soon as they are known, so the caller can record them early."""


class _Run:
    """One reset run's shared state: the refusal that stops every call not yet sent."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused: EcsCredentialsRefused | None = None


class Resets:
    """The reset calls of one client; remembers whether the cloud has the batch path."""

    def __init__(self, caller: Caller, *, mark_ahead_bound: int | None = None) -> None:
        self._caller = caller
        # Calls are announced only when they are about to go, or a bounded few ahead: a crash then leaves
        # at most that many servers in doubt, not every server still queued behind the HTTP bound.
        self._slots = asyncio.Semaphore(caller.max_concurrency)
        #: At most this many servers are announced ahead of the per-server calls that took their place.
        self.mark_ahead_bound = (
            max(caller.max_concurrency // 2, 1) if mark_ahead_bound is None else mark_ahead_bound
        )
        self._pace = Pace()
        #: None until a batch reset has answered; False once the cloud said the batch path does not exist.
        self.batch_supported: bool | None = None

    async def shared(
        self,
        server_ids: Sequence[str],
        password: str,
        *,
        dry_run: bool,
        on_before_call: BeforeCall | None,
        on_results: AfterCall | None,
    ) -> list[ServerResetResult]:
        ids = list(dict.fromkeys(server_ids))
        chunks = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]
        run = _Run()
        marks = MarksAtCall(on_before_call)
        per_chunk = await asyncio.gather(
            *(_reported(self._chunk(run, chunk, password, dry_run, marks), on_results) for chunk in chunks)
        )
        return [result for chunk_results in per_chunk for result in chunk_results]

    async def each(
        self,
        passwords: Mapping[str, str],
        *,
        dry_run: bool,
        on_before_call: BeforeCall | None,
        on_results: AfterCall | None,
    ) -> list[ServerResetResult]:
        run = _Run()
        order = list(passwords)
        in_flight, bound = self._caller.max_concurrency, self.mark_ahead_bound
        marks: Marks = (
            MarksAhead(order, on_before_call, self._pace, in_flight=in_flight, bound=bound)
            if on_before_call is not None
            else MarksAtCall(None)
        )
        try:
            per_server = await asyncio.gather(
                *(
                    _reported(self._chunk(run, [sid], pw, dry_run, marks), on_results)
                    for sid, pw in passwords.items()
                )
            )
        finally:
            await marks.close()
        return [result for results in per_server for result in results]

    async def _chunk(
        self, run: _Run, ids: list[str], password: str, dry_run: bool, marks: Marks
    ) -> list[ServerResetResult]:
        if self.batch_supported is False:
            return await self._singly(run, ids, password, dry_run, marks)
        async with self._slots:
            if run.refused is not None:
                await marks.settle(ids)
                return reset_results.failed(ids, run.refused.not_attempted())
            if not await marks.ready(ids):
                return reset_results.not_sent(ids)
            payload = {"new_password": password, "dry_run": dry_run, "servers": [{"id": i} for i in ids]}
            scrub = self._caller.scrubber(password)
            started = time.monotonic()
            try:
                answer = await self._caller.answer(
                    "PUT", "/cloudservers/os-reset-passwords", payload=payload, scrub=scrub
                )
                results = reset_results.batch_results(ids, answer, scrub)
            except EcsApiNotFound as error:
                if not error.gateway_says_no_such_api:
                    return reset_results.failed(ids, error)
                results = None
            except EcsError as error:
                if isinstance(error, EcsCredentialsRefused):
                    run.refused = run.refused or error
                return reset_results.failed(ids, error)
            if len(ids) == 1:
                self._pace.called(time.monotonic() - started)
        if results is None:  # outside the slot: the fallback takes its own slots
            log.info("ecs: the batch reset API does not exist on this cloud; resetting one server at a time")
            self.batch_supported = False
            return await self._singly(run, ids, password, dry_run, marks, announced=True)
        self.batch_supported = True
        return results

    async def _singly(
        self,
        run: _Run,
        ids: list[str],
        password: str,
        dry_run: bool,
        marks: Marks,
        *,
        announced: bool = False,
    ) -> list[ServerResetResult]:
        if dry_run:  # the single-server call has no dry run: nothing can be checked
            unchecked = ResetOutcome.SUCCEEDED
            return [ServerResetResult(server_id=i, outcome=unchecked, checked=False) for i in ids]

        async def one(server_id: str) -> ServerResetResult:
            async with self._slots:
                if run.refused is not None:
                    if not announced:
                        await marks.settle([server_id])
                    return reset_results.failed([server_id], run.refused.not_attempted())[0]
                if not announced and not await marks.ready([server_id]):
                    return reset_results.not_sent([server_id])[0]
                scrub = self._caller.scrubber(password)
                started = time.monotonic()
                try:
                    answer = await self._caller.answer(
                        "PUT",
                        f"/cloudservers/{server_id}/os-reset-password",
                        payload={"reset-password": {"new_password": password}},
                        server_id=server_id,
                        scrub=scrub,
                    )
                except EcsError as error:
                    if isinstance(error, EcsCredentialsRefused):
                        run.refused = run.refused or error
                    return reset_results.failed([server_id], error)[0]
                self._pace.called(time.monotonic() - started)
            return ServerResetResult(
                server_id=server_id, outcome=ResetOutcome.SUCCEEDED, request_id=scrub.text(answer.request_id)
            )

        return list(await asyncio.gather(*(one(i) for i in ids)))


async def _reported(
    results: Awaitable[list[ServerResetResult]], on_results: AfterCall | None
) -> list[ServerResetResult]:
    """Hands one call's results to the caller at once; a failure to record them loses nothing here."""
    done = await results
    if on_results is not None:
        try:
            await on_results(done)
        except Exception:
            log.exception("ecs: on_results failed for %d server(s); results are still returned", len(done))
    return done
