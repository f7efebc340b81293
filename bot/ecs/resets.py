"""Password resets: batch calls of at most 1000 servers, the single-server fallback, and one result per server
that states only what the cloud's answer tells.

The password goes into the request body only: it is never logged, never put into an exception, never kept.
Each call is announced (`on_before_call`) just before it goes, inside the bound on calls in flight, so a
caller that records announced servers as `sent` knows exactly which calls may have reached the cloud.
"""

from __future__ import annotations

import asyncio
import logging
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


class Resets:
    """The reset calls of one client; remembers whether the cloud has the batch path."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller
        # Calls are announced only when they are about to go: a crash then leaves at most
        # `max_concurrency` servers in doubt, not every server still queued behind the HTTP bound.
        self._slots = asyncio.Semaphore(caller.max_concurrency)
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
        per_chunk = await asyncio.gather(
            *(
                _reported(self._chunk(run, chunk, password, dry_run, on_before_call), on_results)
                for chunk in chunks
            )
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
        per_server = await asyncio.gather(
            *(
                _reported(self._chunk(run, [sid], pw, dry_run, on_before_call), on_results)
                for sid, pw in passwords.items()
            )
        )
        return [result for results in per_server for result in results]

    async def _chunk(
        self, run: _Run, ids: list[str], password: str, dry_run: bool, on_before_call: BeforeCall | None
    ) -> list[ServerResetResult]:
        if self.batch_supported is False:
            return await self._singly(run, ids, password, dry_run, on_before_call)
        async with self._slots:
            if run.refused is not None:
                return _failed(ids, run.refused.not_attempted())
            if not await _announce(ids, on_before_call):
                return _not_sent(ids)
            payload = {"new_password": password, "dry_run": dry_run, "servers": [{"id": i} for i in ids]}
            scrub = self._caller.scrubber(password)
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
        if results is None:  # outside the slot: the fallback takes its own slots
            log.info("ecs: the batch reset API does not exist on this cloud; resetting one server at a time")
            self.batch_supported = False
            return await self._singly(run, ids, password, dry_run, on_before_call, announced=True)
        self.batch_supported = True
        return results

    async def _singly(
        self,
        run: _Run,
        ids: list[str],
        password: str,
        dry_run: bool,
        on_before_call: BeforeCall | None,
        *,
        announced: bool = False,
    ) -> list[ServerResetResult]:
        if dry_run:  # the single-server call has no dry run: nothing can be checked
            unchecked = ResetOutcome.SUCCEEDED
            return [ServerResetResult(server_id=i, outcome=unchecked, checked=False) for i in ids]

        async def one(server_id: str) -> ServerResetResult:
            async with self._slots:
                if run.refused is not None:
                    return _failed([server_id], run.refused.not_attempted())[0]
                if not announced and not await _announce([server_id], on_before_call):
                    return _not_sent([server_id])[0]
                scrub = self._caller.scrubber(password)
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
