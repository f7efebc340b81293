"""The ECS calls the bot makes, for one project and one credential: the facade the rest of the bot uses.

Each concept lives in its own module (`listing`, `resets`, `jobs`); every call goes through one `Caller`
(bounded concurrency, timeouts, retries, the credential gate, scrubbing of the cloud's texts). The client
borrows the bot's one `aiohttp.ClientSession` and never creates its own. Errors are the `EcsError`
hierarchy of `bot.ecs.errors`; each carries a sentence a person can act on and no secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiohttp

from bot.clock import SYSTEM_CLOCK, Clock
from bot.ecs import jobs, listing
from bot.ecs.auth import (
    AkSkCredentials,
    Authenticator,
    PasswordCredentials,
    authenticator_for,
)
from bot.ecs.caller import Caller
from bot.ecs.endpoints import Endpoints
from bot.ecs.gate import CredentialGate
from bot.ecs.listing import ServerListing
from bot.ecs.models import Job, Server, ServerResetResult
from bot.ecs.resets import AfterCall, BeforeCall, Resets
from bot.ecs.retry import RetryPolicy


class EcsClient:
    """Calls the ECS API of one project; safe to share between tasks.

    `max_concurrency` bounds the calls in flight; `timeout_s` bounds each exchange; `retry` says how
    throttling, server errors and outages are retried (never refusals, TLS failures or bad requests).
    `clock` is the UTC clock used to sign and to measure the offset to the gateway's clock.
    `mark_ahead_bound` caps how many servers per-server resets announce ahead of their calls (default
    `max_concurrency // 2`; 0: each server is announced as its call takes its place).

    Its public methods, each in this map (tests/test_facades.py checks it): reads `list_servers(name=,
    ip=, tags=, status=) -> ServerListing`, `get_server(server_id) -> Server`,
    `reset_plugin_installed(server_id) -> bool | None`, `check_access()`; resets
    `reset_passwords(server_ids, password, dry_run=) -> list[ServerResetResult]` and
    `reset_passwords_each(passwords, dry_run=) -> list[ServerResetResult]` (never raise for a cloud
    failure: each server's result says what is known); reboots and jobs `reboot(server_ids, hard=) ->
    list[str]`, `get_job(job_id) -> Job`, `wait_job(job_id, timeout_s=) -> Job`. Properties:
    `batch_reset_supported`, `mark_ahead_bound`, `clock_offset_s`. The others raise the `EcsError` that
    says what failed: `EcsNotFound`, `EcsAuthError`, `EcsThrottled`, `EcsServerError`,
    `EcsUnavailable`, `EcsJobTimeout`, ... (`bot.ecs.errors`).
    """

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
        clock: Clock = SYSTEM_CLOCK,
        gate: CredentialGate | None = None,
        mark_ahead_bound: int | None = None,
    ) -> None:
        retry = retry or RetryPolicy()
        auth = authenticator or authenticator_for(
            credentials,
            session=session,
            iam_endpoint=endpoints.iam,
            project_id=project_id,
            timeout_s=timeout_s,
            retry=retry,
            clock=clock,
        )
        self._caller = Caller(
            session,
            endpoints,
            project_id,
            auth,
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            retry=retry,
            clock=clock,
            gate=gate,
        )
        self._resets = Resets(self._caller, mark_ahead_bound=mark_ahead_bound)

    def __repr__(self) -> str:
        return f"EcsClient(ecs={self._caller.endpoints.ecs!r}, project_id={self._caller.project_id!r})"

    @property
    def batch_reset_supported(self) -> bool | None:
        """None until a batch reset has answered; False once the cloud said it has no batch path."""
        return self._resets.batch_supported

    @batch_reset_supported.setter
    def batch_reset_supported(self, value: bool | None) -> None:
        self._resets.batch_supported = value

    @property
    def mark_ahead_bound(self) -> int:
        """At most this many servers are announced (`on_before_call`) ahead of the per-server calls."""
        return self._resets.mark_ahead_bound

    @property
    def clock_offset_s(self) -> float | None:
        """The bot's clock minus the gateway's (seconds, from the last `Date` header); None before any."""
        return self._caller.clock_offset_s

    # ---------------------------------------------------------------- reads

    async def list_servers(
        self,
        *,
        name: str | None = None,
        ip: str | None = None,
        tags: Sequence[str] | None = None,
        status: str | None = None,
    ) -> ServerListing:
        """Every server matching the filters, each once, across all pages.

        `name` is a prefix match on the cloud; `tags` are `key=value` strings. The result says whether the
        list is complete (`ServerListing.incomplete`: a sentence when the cloud served fewer than its
        `count`, repeated pages without one, or the page cap was hit). Raises `EcsError` if a page fails.
        """
        return await listing.list_servers(self._caller, name=name, ip=ip, tags=tags, status=status)

    async def get_server(self, server_id: str) -> Server:
        """One server. Raises `EcsNotFound` if it does not exist in this project, else `EcsError`."""
        return await listing.get_server(self._caller, server_id)

    async def reset_plugin_installed(self, server_id: str) -> bool | None:
        """Whether the one-click password reset plug-in is installed; None when the cloud's answer has no
        flag (unknown). Raises `EcsNotFound` for a server not in this project, else `EcsError`."""
        return await listing.reset_plugin_installed(self._caller, server_id)

    async def check_access(self) -> None:
        """A cheap read (a one-server page) that proves endpoint, credentials and permissions; raises the
        `EcsError` that says which fails (for `doctor`): `EcsAuthError` (credentials, permissions),
        `EcsApiNotFound` (endpoint or project), `EcsTlsError`, `EcsUnavailable`, ..."""
        await self._caller.call("GET", "/cloudservers/detail", query={"offset": "1", "limit": "1"})

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
        """Reset every server to one password in batch calls of at most 1000; one result per server.

        `on_before_call` is awaited with each call's ids just before it goes (if it raises, that call is
        not sent and its servers fail "not sent"); `on_results` with each call's results as they come.
        If the cloud has no batch path (APIGW.0101/APIG.0101), servers are reset one call each; that call
        has no dry run, so a dry run then calls nothing and returns `succeeded` with `checked=False`.
        Never raises for a cloud failure: each server's result says what is known (`unknown` when the
        call may have reached the cloud). Once the cloud refuses the credentials, no further call of
        this run is sent: its servers fail "not attempted".
        """
        return await self._resets.shared(
            server_ids, password, dry_run=dry_run, on_before_call=on_before_call, on_results=on_results
        )

    async def reset_passwords_each(
        self,
        passwords: Mapping[str, str],
        *,
        dry_run: bool,
        on_before_call: BeforeCall | None = None,
        on_results: AfterCall | None = None,
    ) -> list[ServerResetResult]:
        """Reset each server (key) to its own password (value): one call per server, under the same bound
        and with the same callbacks and results as `reset_passwords`.

        `on_before_call` is awaited with groups of ids in call order, and a call goes only once the group
        holding its id was written. A group may run ahead of the calls, by at most `mark_ahead_bound`
        servers beyond those whose calls hold their place, and only as far as hides the time it takes
        behind the calls in flight (none when a call takes far longer than a write, as against a real
        cloud): a crash leaves at most `max_concurrency + mark_ahead_bound` servers announced and
        unanswered. Servers of a group whose write raised are not sent (they fail "not sent"). Never
        raises for a cloud failure, as `reset_passwords`."""
        return await self._resets.each(
            passwords, dry_run=dry_run, on_before_call=on_before_call, on_results=on_results
        )

    # ---------------------------------------------------------------- reboot and jobs

    async def reboot(
        self, server_ids: Sequence[str], *, hard: bool, secrets: Sequence[str] = ()
    ) -> list[str]:
        """Start a reboot (HARD or SOFT) of the servers in chunks of 1000; the job ids to follow with
        `wait_job`. `secrets`: the passwords just set, scrubbed from anything the cloud answers.
        Raises `EcsError` if a chunk's call fails."""
        return await jobs.reboot(self._caller, server_ids, hard=hard, secrets=secrets)

    async def get_job(self, job_id: str, *, secrets: Sequence[str] = ()) -> Job:
        """The current state of an asynchronous job and its sub-jobs; `secrets` are scrubbed from its
        failure reasons. Raises `EcsError`."""
        return await jobs.get_job(self._caller, job_id, secrets=secrets)

    async def wait_job(
        self, job_id: str, *, timeout_s: float = 600, poll_interval_s: float = 5, secrets: Sequence[str] = ()
    ) -> Job:
        """Poll the job until SUCCESS or FAIL (a SUCCESS job may still hold failed sub-jobs). Raises
        `EcsJobTimeout` if it is still running after `timeout_s`, else `EcsError`."""
        return await jobs.wait_job(
            self._caller, job_id, timeout_s=timeout_s, poll_interval_s=poll_interval_s, secrets=secrets
        )
