"""The ECS calls the bot makes, with bounded concurrency, timeouts, retries and per-server reset results.

The client borrows the bot's one `aiohttp.ClientSession` and never creates its own. The password given to
a reset goes into the request body only: it is never logged, never put into an exception, never kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp

from bot.ecs.auth import AkSkCredentials, Authenticator, PasswordCredentials, authenticator_for
from bot.ecs.endpoints import Endpoints
from bot.ecs.errors import (
    ERROR_CODES_ON_SUCCESS,
    EcsApiNotFound,
    EcsError,
    EcsJobTimeout,
    EcsProtocolError,
    error_from_response,
    parse_error_body,
    parse_internal_errors,
    sentence_for,
)
from bot.ecs.models import Job, ResetOutcome, Server, ServerResetResult
from bot.ecs.retry import RetryPolicy, call_with_retries
from bot.ecs.scrub import Scrubber
from bot.ecs.signer import encode_query
from bot.ecs.transport import Answer, exchange

log = logging.getLogger("bot.ecs")

#: The API's limit of servers per batch call (more answers Ecs.0118).
BATCH_LIMIT = 1000
#: The API's largest page for listing servers.
PAGE_LIMIT = 1000

BeforeCall = Callable[[list[str]], Awaitable[None]]
AfterCall = Callable[[list[ServerResetResult]], Awaitable[None]]
"""Awaited with each call's results as soon as they are known, so the caller can record them early."""


class EcsClient:
    """Calls the ECS API of one project; safe to share between tasks."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Endpoints,
        project_id: str,
        credentials: AkSkCredentials | PasswordCredentials,
        *,
        max_concurrency: int = 20,
        timeout_s: float = 30,
        retry: RetryPolicy | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        self._project_id = project_id
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        #: The headers every call carries (read-only: the authenticator's are merged into a new dict).
        self._headers: Mapping[str, str] = {
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": project_id,
        }
        # Resets announce (mark `sent`) only when they are about to go: a crash then leaves at most
        # `max_concurrency` servers in doubt, not every server still queued behind the HTTP bound.
        self._reset_slots = asyncio.Semaphore(max_concurrency)
        self._auth = authenticator or authenticator_for(
            credentials,
            session=session,
            iam_endpoint=endpoints.iam,
            project_id=project_id,
            timeout_s=timeout_s,
            retry=self._retry,
        )
        #: None until a batch reset has answered; False once the cloud said the batch path does not exist.
        self.batch_reset_supported: bool | None = None

    def __repr__(self) -> str:
        return f"EcsClient(ecs={self._endpoints.ecs!r}, project_id={self._project_id!r})"

    # ---------------------------------------------------------------- reads

    async def list_servers(
        self,
        *,
        name: str | None = None,
        ip: str | None = None,
        tags: Sequence[str] | None = None,
        status: str | None = None,
    ) -> list[Server]:
        """Every server matching the filters, across all pages (`name` is a prefix match on the cloud)."""
        filters = {"name": name, "ip": ip, "status": status, "tags": ",".join(tags) if tags else None}
        query = {k: v for k, v in filters.items() if v}
        servers: list[Server] = []
        page = 1
        while True:
            data = await self._call(
                "GET", "/cloudservers/detail", query={**query, "offset": str(page), "limit": str(PAGE_LIMIT)}
            )
            raw = data.get("servers")
            if not isinstance(raw, list):
                raise EcsProtocolError("the server list answer has no `servers` array")
            servers.extend(Server.from_api(item) for item in raw if isinstance(item, dict))
            count = data.get("count")
            if len(raw) < PAGE_LIMIT or (isinstance(count, int) and len(servers) >= count):
                return servers
            page += 1

    async def get_server(self, server_id: str) -> Server:
        """One server; `EcsNotFound` if it does not exist in this project."""
        data = await self._call("GET", f"/cloudservers/{server_id}", server_id=server_id)
        raw = data.get("server")
        if not isinstance(raw, dict):
            raise EcsProtocolError("the server answer has no `server` object", server_id=server_id)
        return Server.from_api(raw)

    async def reset_plugin_installed(self, server_id: str) -> bool:
        """Whether the one-click password reset plug-in is installed (the flag is the string "True")."""
        data = await self._call("GET", f"/cloudservers/{server_id}/os-resetpwd-flag", server_id=server_id)
        return str(data.get("resetpwd_flag", "")).lower() == "true"

    async def check_access(self) -> None:
        """A cheap read that proves endpoint, credentials and permissions work (for `doctor`)."""
        await self._call("GET", "/cloudservers/detail", query={"offset": "1", "limit": "1"})

    # ---------------------------------------------------------------- resets

    async def reset_passwords(
        self,
        server_ids: Sequence[str],
        password: str,
        *,
        dry_run: bool,
        on_before_call: BeforeCall | None = None,
        on_results: AfterCall | None = None,
    ) -> list[ServerResetResult]:
        """Reset every server to one password, in concurrent chunks of at most 1000; one result per server.

        `on_before_call` is awaited with the ids about to be sent just before each real call, so the caller
        can record them as sent. If the cloud has no batch path (APIGW.0101/APIG.0101), each server is reset
        with the single-server call instead; that call has no dry run, so a dry run in that mode calls
        nothing and returns `succeeded` with `checked=False`.
        """
        ids = list(dict.fromkeys(server_ids))
        chunks = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]
        per_chunk = await asyncio.gather(
            *(
                _reported(self._reset_chunk(chunk, password, dry_run, on_before_call), on_results)
                for chunk in chunks
            )
        )
        return [result for chunk_results in per_chunk for result in chunk_results]

    async def reset_passwords_each(
        self,
        passwords: Mapping[str, str],
        *,
        dry_run: bool,
        on_before_call: BeforeCall | None = None,
        on_results: AfterCall | None = None,
    ) -> list[ServerResetResult]:
        """Reset each server to its own password: one call per server, all under the same bound.

        `on_before_call` is awaited with groups of about `max_concurrency` ids, a group ahead of the calls
        (see `_AnnounceAhead`): every server is announced before its call, but no call waits for a write
        of its own, and a crash leaves at most the calls in flight plus two groups announced.
        """
        ahead = (
            _AnnounceAhead(list(passwords), on_before_call, self._max_concurrency) if on_before_call else None
        )
        try:
            per_server = await asyncio.gather(
                *(
                    _reported(self._reset_chunk([sid], pw, dry_run, ahead), on_results)
                    for sid, pw in passwords.items()
                )
            )
        finally:
            if ahead is not None:
                await ahead.close()
        return [result for results in per_server for result in results]

    async def _reset_chunk(
        self, ids: list[str], password: str, dry_run: bool, on_before_call: BeforeCall | None
    ) -> list[ServerResetResult]:
        if self.batch_reset_supported is False:
            return await self._reset_singly(ids, password, dry_run, on_before_call)
        async with self._reset_slots:
            if not await self._announce(ids, on_before_call):
                return _not_sent(ids)
            payload = {"new_password": password, "dry_run": dry_run, "servers": [{"id": i} for i in ids]}
            try:
                scrub = self._scrubber(password)
                answer = await self._call_answer(
                    "PUT", "/cloudservers/os-reset-passwords", payload=payload, scrub=scrub
                )
                results = _batch_results(ids, answer, scrub)
            except EcsApiNotFound:
                results = None
            except EcsError as error:
                return _chunk_failed(ids, error)
        if results is None:  # outside the slot: the fallback takes its own slots
            log.info("ecs: the batch reset API does not exist on this cloud; resetting one server at a time")
            self.batch_reset_supported = False
            return await self._reset_singly(ids, password, dry_run, on_before_call, announced=True)
        self.batch_reset_supported = True
        return results

    async def _reset_singly(
        self,
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
            async with self._reset_slots:
                if not announced and not await self._announce([server_id], on_before_call):
                    return _not_sent([server_id])[0]
                scrub = self._scrubber(password)
                try:
                    answer = await self._call_answer(
                        "PUT",
                        f"/cloudservers/{server_id}/os-reset-password",
                        payload={"reset-password": {"new_password": password}},
                        server_id=server_id,
                        scrub=scrub,
                    )
                except EcsError as error:
                    return _chunk_failed([server_id], error)[0]
            return ServerResetResult(
                server_id=server_id, outcome=ResetOutcome.SUCCEEDED, request_id=scrub.text(answer.request_id)
            )

        return list(await asyncio.gather(*(one(i) for i in ids)))

    async def _announce(self, ids: list[str], on_before_call: BeforeCall | None) -> bool:
        """Let the caller record the ids as sent; if it cannot, nothing is sent."""
        if on_before_call is None:
            return True
        try:
            await on_before_call(list(ids))
        except Exception:
            log.exception("ecs: on_before_call failed; %d server(s) not sent", len(ids))
            return False
        return True

    # ---------------------------------------------------------------- reboot and jobs

    async def reboot(
        self, server_ids: Sequence[str], *, hard: bool, secrets: Sequence[str] = ()
    ) -> list[str]:
        """Start a reboot of the servers (chunks of 1000); the ids of the jobs to follow with `wait_job`.

        `secrets`: the passwords just set on these servers, scrubbed from anything the cloud answers.
        """
        ids = list(dict.fromkeys(server_ids))
        kind = "HARD" if hard else "SOFT"
        scrub = self._scrubber(*secrets)

        async def chunk_reboot(chunk: list[str]) -> str:
            payload = {"reboot": {"type": kind, "servers": [{"id": i} for i in chunk]}}
            data = await self._call("POST", "/cloudservers/action", payload=payload, scrub=scrub)
            job_id = data.get("job_id")
            if not isinstance(job_id, str) or not job_id:
                raise EcsProtocolError("the reboot answer has no job_id")
            return job_id

        chunks = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]
        return list(await asyncio.gather(*(chunk_reboot(c) for c in chunks)))

    async def get_job(self, job_id: str, *, secrets: Sequence[str] = ()) -> Job:
        """The current state of an asynchronous job; `secrets` are scrubbed from its failure reasons."""
        scrub = self._scrubber(*secrets)
        data = await self._call("GET", f"/jobs/{job_id}", scrub=scrub)
        return Job.from_api({"job_id": job_id, **data}, scrub)

    async def wait_job(
        self, job_id: str, *, timeout_s: float = 600, poll_interval_s: float = 5, secrets: Sequence[str] = ()
    ) -> Job:
        """Poll the job until SUCCESS or FAIL; `EcsJobTimeout` if it is still running after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = await self.get_job(job_id, secrets=secrets)
            if job.status.is_final:
                return job
            if time.monotonic() + poll_interval_s > deadline:
                raise EcsJobTimeout(f"job {job_id} is still {job.status} after {timeout_s:g} s")
            await asyncio.sleep(poll_interval_s)

    # ---------------------------------------------------------------- plumbing

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        payload: object = None,
        server_id: str | None = None,
        scrub: Scrubber | None = None,
    ) -> dict[str, Any]:
        answer = await self._call_answer(
            method, path, query=query, payload=payload, server_id=server_id, scrub=scrub
        )
        return _json_object(answer, server_id, scrub or self._scrubber())

    def _scrubber(self, *secrets: str) -> Scrubber:
        """The scrubber of one call: its own secrets and the credentials' (read when first needed: the
        call may fetch the token)."""
        return Scrubber(secrets, read_later=self._auth.secrets)

    async def _call_answer(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        payload: object = None,
        server_id: str | None = None,
        scrub: Scrubber | None = None,
    ) -> Answer:
        """One logical call with retries per policy; any text of the cloud's in an error raised is scrubbed
        of the call's secrets (`scrub`; the credentials' alone if None)."""
        scrub = scrub or self._scrubber()
        url = f"{self._endpoints.ecs}/v1/{self._project_id}{path}"
        if query:
            url += "?" + encode_query(query)
        body = json.dumps(payload).encode() if payload is not None else b""
        deadline = time.monotonic() + self._retry.deadline_s
        try:
            return await call_with_retries(
                self._retry, lambda: self._attempt(method, url, body, server_id, deadline, scrub)
            )
        except EcsError as error:
            raise _scrubbed(error, scrub) from None

    async def _attempt(
        self, method: str, url: str, body: bytes, server_id: str | None, deadline: float, scrub: Scrubber
    ) -> Answer:
        headers = self._headers
        timeout_s = max(min(self._timeout_s, deadline - time.monotonic()), 0.001)
        async with self._semaphore:
            applied = await self._auth.apply(method, url, headers, body)
            answer = await exchange(
                self._session,
                method,
                url,
                headers={**headers, **applied},
                body=body,
                timeout_s=timeout_s,
                scrub=scrub,
            )
            if answer.status == 401 and await self._auth.on_unauthorized(applied):
                applied = await self._auth.apply(method, url, headers, body)
                answer = await exchange(
                    self._session,
                    method,
                    url,
                    headers={**headers, **applied},
                    body=body,
                    timeout_s=timeout_s,
                    scrub=scrub,
                )
        if not 200 <= answer.status < 300:
            raise error_from_response(answer.status, answer.headers, answer.body, server_id, scrub)
        if answer.status == 202 and answer.body:
            parsed = parse_error_body(answer.body, scrub)
            if parsed is not None and parsed.code in ERROR_CODES_ON_SUCCESS:
                raise error_from_response(answer.status, answer.headers, answer.body, server_id, scrub)
        return answer


class _AnnounceAhead:
    """The per-server resets' `on_before_call`, in groups written ahead of the calls.

    One call per server, each awaiting a write of its own id before it goes, would put a store write
    (and the wait for the one before it) into every call. Instead, the first call asks for its group: its
    own id and the next `window - 1` ids not yet announced, in call order; and whenever fewer than
    `window` announced ids are still waiting for their calls, the next group is announced in the
    background. A call goes only once the write of its group has succeeded (if it failed, the call is not
    sent, as with a direct `on_before_call`). So each server is still recorded before its call, and a
    crash leaves at most the calls in flight plus about two groups recorded as sent but never called;
    recovery reports those as unknown, never resends them.
    """

    def __init__(self, order: list[str], on_before_call: BeforeCall, window: int) -> None:
        self._order = order
        self._on_before_call = on_before_call
        self._window = max(window, 1)
        self._next = 0  # index in `order` of the first id not in a group yet
        self._group_of: dict[str, asyncio.Future[None]] = {}
        self._unclaimed = 0  # ids announced (or being announced) whose call has not asked yet
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, ids: list[str]) -> None:
        for server_id in ids:
            group = self._group_of.get(server_id) or self._start_group(first=server_id)
            self._unclaimed -= 1
            if self._unclaimed < self._window and self._next < len(self._order):
                self._start_group()
            await asyncio.shield(group)

    def _start_group(self, first: str | None = None) -> asyncio.Future[None]:
        group: list[str] = [first] if first is not None else []
        while len(group) < self._window and self._next < len(self._order):
            server_id = self._order[self._next]
            self._next += 1
            if server_id != first and server_id not in self._group_of:
                group.append(server_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for server_id in group:
            self._group_of[server_id] = done
        self._unclaimed += len(group)
        task = asyncio.create_task(self._write(group, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return done

    async def _write(self, group: list[str], done: asyncio.Future[None]) -> None:
        try:
            await self._on_before_call(group)
        except BaseException as exc:  # handed to every call of the group; they decide what it means
            if not done.done():
                done.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            done.set_result(None)

    async def close(self) -> None:
        """Ends writes still under way: none after the resets ran to the end (each group was awaited by
        its calls); after a cancellation, the ones started ahead are cancelled too."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _json_object(answer: Answer, server_id: str | None, scrub: Scrubber) -> dict[str, Any]:
    """The answer's JSON object; an empty body is an empty object (the single reset answers nothing)."""
    if not answer.body.strip():
        return {}
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise EcsProtocolError(
            "the cloud answered with something that is not a JSON object",
            http_status=answer.status,
            request_id=scrub.text(answer.request_id),
            server_id=server_id,
        )
    return data


def _batch_results(ids: list[str], answer: Answer, scrub: Scrubber) -> list[ServerResetResult]:
    """Per-server results of a 2xx batch answer: `response` ids succeeded, `internalError` ids failed."""
    data = _json_object(answer, None, scrub)
    raw = data.get("response")
    entries = raw if isinstance(raw, list) else []
    succeeded = {r["id"] for r in entries if isinstance(r, dict) and "id" in r}
    failed = {e.server_id: e for e in parse_internal_errors(data.get("internalError"), scrub)}
    request_id = scrub.text(answer.request_id)
    results = []
    for server_id in ids:
        if server_id in failed:
            err = failed[server_id]
            results.append(
                ServerResetResult(
                    server_id=server_id,
                    outcome=ResetOutcome.FAILED,
                    error_code=err.code,
                    error_message=sentence_for(err.code, err.message),
                    request_id=request_id,
                )
            )
        elif server_id in succeeded:
            results.append(
                ServerResetResult(server_id=server_id, outcome=ResetOutcome.SUCCEEDED, request_id=request_id)
            )
        else:
            results.append(
                ServerResetResult(
                    server_id=server_id,
                    outcome=ResetOutcome.UNKNOWN,
                    error_message="the cloud accepted the call but did not mention this server",
                    request_id=request_id,
                )
            )
    return results


def _chunk_failed(ids: list[str], error: EcsError) -> list[ServerResetResult]:
    """Every server of a call that raised: its own `internalError` entry if any, else the call's error."""
    own = {e.server_id: e for e in error.internal_errors}
    outcome = ResetOutcome.UNKNOWN if error.may_have_taken_effect else ResetOutcome.FAILED
    results = []
    for server_id in ids:
        if server_id in own:
            err = own[server_id]
            code, message, server_outcome = err.code, sentence_for(err.code, err.message), ResetOutcome.FAILED
        else:
            code, message, server_outcome = error.code, error.message, outcome
        results.append(
            ServerResetResult(
                server_id=server_id,
                outcome=server_outcome,
                error_code=code,
                error_message=message,
                request_id=error.request_id,
            )
        )
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


def _scrubbed(error: EcsError, scrub: Scrubber) -> EcsError:
    """The error with the call's secrets removed from every text it carries (a second pass: the parser
    already scrubbed what it read; this covers texts composed later, like the IAM refusal sentence)."""
    error.message = scrub(error.message)
    error.cloud_message = scrub.text(error.cloud_message)
    error.code = scrub.text(error.code)
    error.request_id = scrub.text(error.request_id)
    error.args = (error.message,)
    return error


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
