"""Password resets: batch calls of at most 1000 servers, the single-server fallback, and one result per server
that states only what the cloud's answer tells.

The password goes into the request body only: it is never logged, never put into an exception, never kept.
Every call is announced (`on_before_call`) before it goes, and goes only once that returned, so a caller
that records announced servers as `sent` knows which calls may have reached the cloud. A batch call is
announced just before it goes. Per-server calls are announced in groups (`_MarksAhead`), at most
`mark_ahead_bound` servers ahead of the calls that took their place, and only as far ahead as hides the
time an announcement takes behind the calls in flight: none when calls are slow beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bot.ecs.caller import Caller, json_object
from bot.ecs.errors import (
    EcsApiNotFound,
    EcsCredentialsRefused,
    EcsError,
    parse_internal_errors,
    sentence_for,
)
from bot.ecs.models import ResetOutcome, ServerResetResult
from bot.ecs.scrub import Scrubber
from bot.ecs.transport import Answer

log = logging.getLogger("bot.ecs")

#: The API's limit of servers per batch call (more answers Ecs.0118).
BATCH_LIMIT = 1000

BeforeCall = Callable[[list[str]], Awaitable[None]]
"""Awaited with the ids of a call just before it goes; if it raises, the call is not sent."""
AfterCall = Callable[[list[ServerResetResult]], Awaitable[None]]
"""Awaited with each call's results as soon as they are known, so the caller can record them early."""

UNNAMED_IN_PARTIAL_FAILURE = (
    "the cloud reported a partial failure of the batch without naming this server: "
    "it may or may not have been reset"
)
NOT_MENTIONED = (
    "the cloud accepted the call but did not mention this server: it may or may not have been reset"
)


class _Run:
    """One reset run's shared state: the refusal that stops every call not yet sent."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused: EcsCredentialsRefused | None = None


class _Pace:
    """How long an announcement and a reset call take (moving averages over the client's life), in real
    time (`time.monotonic`, not the injected clock): it measures how fast the store and the cloud are."""

    __slots__ = ("announce_s", "call_s")

    def __init__(self) -> None:
        self.announce_s: float | None = None
        self.call_s: float | None = None

    @staticmethod
    def _mean(old: float | None, new: float) -> float:
        return new if old is None else 0.8 * old + 0.2 * new

    def announced(self, seconds: float) -> None:
        self.announce_s = self._mean(self.announce_s, seconds)

    def called(self, seconds: float) -> None:
        self.call_s = self._mean(self.call_s, seconds)

    def ahead(self, in_flight: int, bound: int) -> int:
        """Servers worth announcing ahead: what the calls in flight consume while one announcement is
        written, twice (one write under way, the next one's margin); 0 until both are measured."""
        if not self.announce_s or not self.call_s:
            return 0
        return min(bound, round(2 * in_flight * self.announce_s / self.call_s))


class _Direct:
    """Announcements made by each call just before it goes (batch calls)."""

    def __init__(self, on_before_call: BeforeCall | None) -> None:
        self._on_before_call = on_before_call

    async def ready(self, ids: list[str]) -> bool:
        return await _announce(ids, self._on_before_call)

    async def settle(self, ids: list[str]) -> None:
        return None


class _MarksAhead:
    """The per-server resets' announcements, written in groups ahead of the calls, within a bound.

    A call asks for its server's mark once it holds its place among the calls in flight (`ready`) and
    goes once the write holding that mark succeeded; a server not yet in a write is written at once,
    with the next servers in call order up to the look-ahead. While fewer servers than the look-ahead
    are marked ahead of the calls and no write is under way, the next group is written in the
    background. So no call goes before its mark, at most `bound` servers are marked and not yet called
    (a crash leaves at most the calls in flight plus those as "may have been reset"), and when a call
    takes much longer than a write (`_Pace`: a real cloud beside a local store) the look-ahead is 0: each
    server is marked as its call takes its place, and a crash report is exact.
    """

    def __init__(
        self, order: list[str], announce: BeforeCall, pace: _Pace, *, in_flight: int, bound: int
    ) -> None:
        self._order = order
        self._announce = announce
        self._pace = pace
        self._in_flight = in_flight
        self._bound = bound
        self._next = 0  # index in `order` of the first server not in a write yet
        self._write_of: dict[str, asyncio.Future[None]] = {}
        self._ahead = 0  # servers in a write whose call has not asked yet
        self._topping_up = False  # a background write is under way
        self._tasks: set[asyncio.Task[None]] = set()

    async def ready(self, ids: list[str]) -> bool:
        """Wait until the call's marks are written; False if a write failed (the call must not go)."""
        missing = [i for i in ids if i not in self._write_of]
        if missing:
            following = self._following(max(self._lookahead() - self._ahead, 0), skip=set(missing))
            self._start([*missing, *following])
        writes = {self._write_of[i] for i in ids}
        self._ahead -= len(ids)
        self._top_up()
        try:
            for write in writes:
                await asyncio.shield(write)
        except Exception:
            log.exception("ecs: on_before_call failed; %d server(s) not sent", len(ids))
            return False
        return True

    async def settle(self, ids: list[str]) -> None:
        """Servers whose call will not go: marks written ahead for them land before their results."""
        writes = {w for i in ids if (w := self._write_of.get(i)) is not None}
        self._ahead -= sum(i in self._write_of for i in ids)
        await asyncio.gather(*(asyncio.shield(w) for w in writes), return_exceptions=True)

    async def close(self) -> None:
        """Ends writes still under way (none once every call asked or settled; after a cancellation,
        the ones written ahead)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _lookahead(self) -> int:
        return self._pace.ahead(self._in_flight, self._bound)

    def _following(self, count: int, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """The next `count` servers in call order not in a write yet (nor in `skip`)."""
        found: list[str] = []
        while len(found) < count and self._next < len(self._order):
            server_id = self._order[self._next]
            self._next += 1
            if server_id not in self._write_of and server_id not in skip:
                found.append(server_id)
        return found

    def _top_up(self) -> None:
        if self._topping_up:
            return
        want = self._lookahead() - self._ahead
        if want > 0 and self._next < len(self._order):
            group = self._following(want)
            if group:
                self._start(group, background=True)

    def _start(self, group: list[str], *, background: bool = False) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for server_id in group:
            self._write_of[server_id] = done
        self._ahead += len(group)
        self._topping_up = self._topping_up or background
        task = asyncio.create_task(self._write(group, done, background))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return done

    async def _write(self, group: list[str], done: asyncio.Future[None], background: bool) -> None:
        started = time.monotonic()
        try:
            await self._announce(list(group))
        except BaseException as exc:  # handed to every call of the group: none of them goes
            if not done.done():
                done.set_exception(exc)
                done.exception()  # retrieved here: a group whose calls all settled must not warn
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            self._pace.announced(time.monotonic() - started)
            done.set_result(None)
        finally:
            if background:
                self._topping_up = False
        self._top_up()


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
        self._pace = _Pace()
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
        marks = _Direct(on_before_call)
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
        marks: _Direct | _MarksAhead = (
            _MarksAhead(order, on_before_call, self._pace, in_flight=in_flight, bound=bound)
            if on_before_call is not None
            else _Direct(None)
        )
        try:
            per_server = await asyncio.gather(
                *(
                    _reported(self._chunk(run, [sid], pw, dry_run, marks), on_results)
                    for sid, pw in passwords.items()
                )
            )
        finally:
            if isinstance(marks, _MarksAhead):
                await marks.close()
        return [result for results in per_server for result in results]

    async def _chunk(
        self, run: _Run, ids: list[str], password: str, dry_run: bool, marks: _Direct | _MarksAhead
    ) -> list[ServerResetResult]:
        if self.batch_supported is False:
            return await self._singly(run, ids, password, dry_run, marks)
        async with self._slots:
            if run.refused is not None:
                await marks.settle(ids)
                return _failed(ids, run.refused.not_attempted())
            if not await marks.ready(ids):
                return _not_sent(ids)
            payload = {"new_password": password, "dry_run": dry_run, "servers": [{"id": i} for i in ids]}
            scrub = self._caller.scrubber(password)
            started = time.monotonic()
            try:
                answer = await self._caller.answer(
                    "PUT", "/cloudservers/os-reset-passwords", payload=payload, scrub=scrub
                )
                results = _batch_results(ids, answer, scrub)
            except EcsApiNotFound as error:
                if not error.gateway_says_no_such_api:
                    return _failed(ids, error)
                results = None
            except EcsError as error:
                if isinstance(error, EcsCredentialsRefused):
                    run.refused = run.refused or error
                return _failed(ids, error)
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
        marks: _Direct | _MarksAhead,
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
                    return _failed([server_id], run.refused.not_attempted())[0]
                if not announced and not await marks.ready([server_id]):
                    return _not_sent([server_id])[0]
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
                    return _failed([server_id], error)[0]
                self._pace.called(time.monotonic() - started)
            return ServerResetResult(
                server_id=server_id, outcome=ResetOutcome.SUCCEEDED, request_id=scrub.text(answer.request_id)
            )

        return list(await asyncio.gather(*(one(i) for i in ids)))


async def _announce(ids: list[str], on_before_call: BeforeCall | None) -> bool:
    """Let the caller record the ids as sent; if it cannot, nothing is sent."""
    if on_before_call is None:
        return True
    try:
        await on_before_call(list(ids))
    except Exception:
        log.exception("ecs: on_before_call failed; %d server(s) not sent", len(ids))
        return False
    return True


def _batch_results(ids: list[str], answer: Answer, scrub: Scrubber) -> list[ServerResetResult]:
    """Per-server results of a 2xx batch answer: `response` ids succeeded, `internalError` ids failed,
    any other id is unknown (the cloud took the call and said nothing of it)."""
    data = json_object(answer, None, scrub)
    raw = data.get("response")
    entries = raw if isinstance(raw, list) else []
    succeeded = {r["id"] for r in entries if isinstance(r, dict) and "id" in r}
    failed = {e.server_id: e for e in parse_internal_errors(data.get("internalError"), scrub)}
    request_id = scrub.text(answer.request_id)
    results = []
    for server_id in ids:
        if server_id in failed:
            err = failed[server_id]
            outcome, code, message = ResetOutcome.FAILED, err.code, sentence_for(err.code, err.message)
        elif server_id in succeeded:
            outcome, code, message = ResetOutcome.SUCCEEDED, None, None
        else:
            outcome, code, message = ResetOutcome.UNKNOWN, None, NOT_MENTIONED
        results.append(ServerResetResult(server_id, outcome, code, message, request_id))
    return results


def _failed(ids: list[str], error: EcsError) -> list[ServerResetResult]:
    """Every server of a call that raised: its own `internalError` entry if any; a server the answer of
    a partial failure does not name is unknown (the cloud may have reset it); else the call's error."""
    own = {e.server_id: e for e in error.internal_errors}
    partial = bool(own) or error.code == "Ecs.0611"
    outcome = ResetOutcome.UNKNOWN if error.may_have_taken_effect else ResetOutcome.FAILED
    results = []
    for server_id in ids:
        if server_id in own:
            err = own[server_id]
            result = ServerResetResult(
                server_id,
                ResetOutcome.FAILED,
                err.code,
                sentence_for(err.code, err.message),
                error.request_id,
            )
        elif partial:
            result = ServerResetResult(
                server_id, ResetOutcome.UNKNOWN, error.code, UNNAMED_IN_PARTIAL_FAILURE, error.request_id
            )
        else:
            result = ServerResetResult(server_id, outcome, error.code, error.message, error.request_id)
        results.append(result)
    return results


def _not_sent(ids: list[str]) -> list[ServerResetResult]:
    return [
        ServerResetResult(
            server_id=i,
            outcome=ResetOutcome.FAILED,
            error_message="not sent: recording the call beforehand failed",
        )
        for i in ids
    ]


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
