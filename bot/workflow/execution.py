"""Runs an approved request exactly once: claim, seal the passwords, call the cloud, deliver.

The generated passwords are sealed (encrypted) in the store before the first cloud call, and each
server is marked `sent` before its call (per-server passwords: in groups, a bounded few ahead of the calls
when the store is slow beside the cloud; see `EcsClient.reset_passwords_each`), so a process that dies
mid-way leaves enough behind for another replica to finish the request honestly: servers never marked are
reset, marked ones are reported as unknown, and no password it cannot vouch for is ever resent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Target
from bot.domain import PasswordMode, RebootMode, RequestRecord, RequestStatus, ServerPhase, ServerRecord
from bot.ecs import EcsClient, ResetOutcome, ServerResetResult
from bot.logs import bind_request, forget_secret, register_secret
from bot.metrics import EXECUTION_SECONDS, REQUESTS, SERVER_RESETS
from bot.store import Store
from bot.store.group_commit import GroupCommit
from bot.store.records import ServerUpdate
from bot.workflow import sentences as say
from bot.workflow.cooldown import release_cooldown
from bot.workflow.ports import (
    EventKind,
    Notifier,
    RequestView,
    WorkflowEvent,
    notify_safely,
)
from bot.workflow.reboots import reboot_sentence
from bot.workflow.sealed import SealedPasswords, delivered_secrets
from bot.workflow.views import keep_message_refs, load_view

log = logging.getLogger(__name__)


class ClaimLost(Exception):
    """This worker no longer holds the request; another replica has taken it over."""


@dataclass(frozen=True)
class ExecutionSettings:
    worker_id: str
    reveal_ttl: timedelta = timedelta(minutes=15)
    lease: timedelta = timedelta(seconds=60)
    reboot_timeout_s: float = 600.0
    job_poll_interval_s: float = 5.0
    announce_wait_s: float = 5.0
    """A break-glass reset waits at most this long for its card to be up (so everyone sees it first); a
    slow or refused chat then catches up, the reset does not wait on it."""


class Executor:
    """Turns an approved request into cloud calls and a delivered password."""

    def __init__(
        self,
        *,
        store: Store,
        targets: Mapping[str, Target],
        clients: Mapping[str, EcsClient],
        notifier: Notifier,
        settings: ExecutionSettings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.clock = clock
        self.store = store
        self.targets = targets
        self.clients = clients
        self.notifier = notifier
        self.settings = settings

    async def run_claimed(self, claimed: RequestRecord) -> None:
        """Runs a request this worker has just claimed (executing, `claimed_by` this worker), which the
        store does in the same transaction as the last approval (`Store.approve`)."""
        REQUESTS.labels(claimed.target, RequestStatus.EXECUTING.value).inc()
        await self._run(claimed, resumed=False)

    async def resume(self, request: RequestRecord, *, previous_worker: str | None = None) -> None:
        """Finishes an execution whose worker stopped heartbeating (crash, kill -9, lost node).

        `request` is the row as taken over, so its `claimed_by` is already this worker: the caller
        says whose execution it was, for the audit trail."""
        await self.store.add_audit(
            request.id,
            "bot",
            "recovering",
            {"worker": self.settings.worker_id, "previous_worker": previous_worker},
        )
        await self._run(request, resumed=True)

    async def _run(self, request: RequestRecord, *, resumed: bool) -> None:
        bind_request(request.id)
        started = time.monotonic()
        servers = await self.store.servers(request.id)
        skipped = [s for s in servers if not s.resettable and s.phase == ServerPhase.WAITING]
        skip_updates = [ServerUpdate(s.server_id, phase=ServerPhase.SKIPPED) for s in skipped]
        passwords: SealedPasswords | None
        claim_checked = False
        if resumed:
            if skip_updates:
                await self.store.update_servers(request.id, skip_updates)
            passwords = await self._passwords(request, servers, resumed)
        else:
            # One transaction before the first cloud call: the claim is checked, skipped servers are
            # marked, the password(s) sealed. Nothing else stands between the approval and the reset.
            passwords = SealedPasswords.generate(
                request.password_mode, [s.server_id for s in servers if s.resettable]
            )
            if not await self.store.start_execution(
                request.id, self.settings.worker_id, request.requester_id, passwords.dumps(), skip_updates
            ):
                log.error(
                    "request #%d was taken over by another worker before its reset; stopping", request.id
                )
                return
            claim_checked = True
        for secret in passwords.all() if passwords else []:
            register_secret(secret)
        # Beat before telling anyone: a slow chat must not outlast the lease and invite a takeover.
        heartbeat = asyncio.create_task(self._heartbeat(request.id), name=f"heartbeat-{request.id}")
        reboot_note: str | None = None
        # The "resetting now" card goes out beside the cloud calls, not before them: neither Slack's
        # latency nor the reads of the card stand between the last approval and the first reset.
        calls_started = asyncio.Event()
        announced = asyncio.create_task(
            self._announce(request, EventKind.RECOVERED if resumed else EventKind.EXECUTING, calls_started),
            name=f"announce-{request.id}",
        )
        try:
            await self._settle_lost_calls(request.id, servers, passwords)
            if passwords is not None:
                if not claim_checked and not await self.store.heartbeat(
                    request.id, self.settings.worker_id, self.clock.now()
                ):
                    raise ClaimLost(request.id)
                await self._reset(request, servers, passwords, calls_started)
                reboot_note = await self._reboot(request, passwords)
        except ClaimLost:
            # Another replica took this request over (our beats stopped for longer than the lease):
            # it finishes the request; writing anything more here could only contradict it.
            log.error("request #%d was taken over by another worker before its reset; stopping", request.id)
            heartbeat.cancel()
            await announced
            for secret in passwords.all() if passwords else []:
                forget_secret(secret)
            return
        except Exception as exc:
            # Whatever went wrong, no server may stay `sent` or `waiting` on a final request.
            log.error("execution of request #%d stopped: %s", request.id, exc)
            await self._settle_after_error(request.id, str(exc))
        finally:
            calls_started.set()
            await announced  # the final card must come after the "resetting now" one; keep beating
            heartbeat.cancel()
        try:
            await self._finish(request, passwords, resumed, reboot_note)
        finally:
            for secret in passwords.all() if passwords else []:
                forget_secret(secret)
            EXECUTION_SECONDS.labels(request.target).observe(time.monotonic() - started)

    async def _announce(self, request: RequestRecord, kind: EventKind, calls_started: asyncio.Event) -> None:
        async def send() -> None:
            # Its reads would compete with the writes before the first call (one store, one loop).
            await calls_started.wait()
            view = await load_view(self.store, self.targets, request)
            await self.notifier.request_updated(view, WorkflowEvent(kind))

        await notify_safely(send(), "request_updated")

    async def _passwords(
        self, request: RequestRecord, servers: list[ServerRecord], resumed: bool
    ) -> SealedPasswords | None:
        if resumed:
            sealed = await self.store.unseal_secret(request.id)
            return SealedPasswords.loads(sealed) if sealed else None
        to_reset = [s.server_id for s in servers if s.resettable]
        passwords = SealedPasswords.generate(request.password_mode, to_reset)
        await self.store.seal_secret(request.id, request.requester_id, passwords.dumps())
        return passwords

    async def _settle_lost_calls(
        self, request_id: int, servers: list[ServerRecord], passwords: SealedPasswords | None
    ) -> None:
        """After a crash: calls in flight are unknown; calls never made fail if the password is gone."""
        updates = [
            ServerUpdate(s.server_id, phase=ServerPhase.UNKNOWN, error_message=say.LOST_IN_FLIGHT)
            for s in servers
            if s.phase == ServerPhase.SENT
        ]
        if passwords is None:
            updates += [
                ServerUpdate(s.server_id, phase=ServerPhase.FAILED, error_message=say.NOT_ATTEMPTED)
                for s in servers
                if s.resettable and s.phase == ServerPhase.WAITING
            ]
        if updates:
            await self.store.update_servers(request_id, updates)

    async def _reset(
        self,
        request: RequestRecord,
        servers: list[ServerRecord],
        passwords: SealedPasswords,
        calls_started: asyncio.Event | None = None,
    ) -> None:
        waiting = [s.server_id for s in servers if s.resettable and s.phase == ServerPhase.WAITING]
        if not waiting:
            return
        client = self.clients[request.target]
        # Per-server mode reports each server on its own: 10,000 one-row transactions would queue on the
        # store's pool and time out, so the reports that arrive together share one write.
        writer: GroupCommit[ServerUpdate] = GroupCommit(partial(self.store.update_servers, request.id))

        async def mark_sent(ids: list[str]) -> None:
            await writer.add([ServerUpdate(i, phase=ServerPhase.SENT) for i in ids])
            if calls_started is not None:
                calls_started.set()  # the call follows at once; the card may load its view now

        recorded: set[str] = set()

        async def record(results: list[ServerResetResult]) -> None:
            await writer.add([_result_update(r) for r in results])
            recorded.update(r.server_id for r in results)

        results: list[ServerResetResult]
        if request.password_mode == PasswordMode.PER_SERVER:
            chosen = {sid: pw for sid in waiting if (pw := passwords.for_server(sid))}
            results = await client.reset_passwords_each(
                chosen, dry_run=False, on_before_call=mark_sent, on_results=record
            )
        else:
            assert passwords.shared is not None
            results = await client.reset_passwords(
                waiting, passwords.shared, dry_run=False, on_before_call=mark_sent, on_results=record
            )
        # Results were recorded as they came; this final write covers any that could not be.
        missing = [_result_update(r) for r in results if r.server_id not in recorded]
        if missing:
            await self.store.update_servers(request.id, missing)
        for outcome, count in Counter(r.outcome for r in results).items():  # one labels() per outcome
            SERVER_RESETS.labels(request.target, outcome.value).inc(count)

    async def _reboot(self, request: RequestRecord, passwords: SealedPasswords) -> str | None:
        if request.reboot == RebootMode.NONE:
            return None
        done = [s for s in await self.store.servers(request.id) if s.phase == ServerPhase.SUCCEEDED]
        if not done:
            return None
        client = self.clients[request.target]
        kind = "hard" if request.reboot == RebootMode.HARD else "soft"
        ids = [s.server_id for s in done]
        try:
            # The cloud knows the new passwords now: its job texts are scrubbed of them.
            secrets = passwords.all()
            job_ids = await client.reboot(ids, hard=request.reboot == RebootMode.HARD, secrets=secrets)
            jobs = await asyncio.gather(
                *(
                    client.wait_job(
                        job_id,
                        timeout_s=self.settings.reboot_timeout_s,
                        poll_interval_s=self.settings.job_poll_interval_s,
                        secrets=secrets,
                    )
                    for job_id in job_ids
                )
            )
        except Exception as exc:
            return say.restart_unconfirmed(kind, exc)
        return reboot_sentence(kind, done, jobs)

    async def _settle_after_error(self, request_id: int, why: str) -> None:
        servers = await self.store.servers(request_id)
        updates = [
            ServerUpdate(s.server_id, phase=ServerPhase.UNKNOWN, error_message=say.LOST_IN_FLIGHT)
            for s in servers
            if s.phase == ServerPhase.SENT
        ]
        updates += [
            ServerUpdate(s.server_id, phase=ServerPhase.FAILED, error_message=say.not_attempted(why))
            for s in servers
            if s.phase == ServerPhase.WAITING and s.resettable
        ]
        if updates:
            await self.store.update_servers(request_id, updates)

    async def _finish(
        self,
        request: RequestRecord,
        passwords: SealedPasswords | None,
        resumed: bool,
        reboot_note: str | None,
    ) -> None:
        servers, decisions = await asyncio.gather(
            self.store.servers(request.id), self.store.decisions(request.id)
        )
        ok = [s for s in servers if s.phase == ServerPhase.SUCCEEDED]
        unknown = [s for s in servers if s.phase == ServerPhase.UNKNOWN]
        failed = [s for s in servers if s.phase == ServerPhase.FAILED]
        attempted = len(ok) + len(unknown) + len(failed)
        if ok and not unknown and not failed:
            status = RequestStatus.SUCCEEDED
        elif ok or unknown:
            status = RequestStatus.PARTLY_FAILED
        else:
            status = RequestStatus.FAILED
        if not reboot_note and ok and request.reboot == RebootMode.NONE:
            reboot_note = say.EFFECT_AT_NEXT_RESTART
        outcome = say.finished(
            len(ok), attempted, len(unknown), len(failed), resumed=resumed, after=reboot_note
        )
        deliver = passwords is not None and bool(ok or unknown)
        expires_at = self.clock.now() + self.settings.reveal_ttl
        # One transaction: the final status, its audit event, and the sealed secret armed for the reveal
        # (or erased when there is nothing to deliver).
        finished = await self.store.finish_execution(
            request.id,
            status,
            outcome,
            audit=(
                "bot",
                "finished",
                {
                    "status": status.value,
                    "succeeded": len(ok),
                    "unknown": len(unknown),
                    "failed": len(failed),
                },
            ),
            reveal_until=expires_at if deliver else None,
        )
        if finished is None:
            log.warning("request #%d left executing before this worker finished it", request.id)
            return
        if not ok and not unknown:
            # Like a failed pre-flight: a break-glass that reset nothing does not bar the next attempt.
            await release_cooldown(self.store, request, "nothing reset")
        REQUESTS.labels(request.target, status.value).inc()
        target = self.targets.get(request.target)
        view = RequestView(finished.request, servers, decisions, target.approvers_channel if target else None)
        if deliver and finished.reveal_token is None:
            log.error("request #%d: no sealed secret left to deliver", request.id)
        elif deliver and passwords is not None and finished.reveal_token is not None:
            secrets = delivered_secrets(passwords, servers)
            report = await notify_safely(
                self.notifier.deliver_secret(view, secrets, finished.reveal_token, expires_at),
                "deliver_secret",
            )
            await keep_message_refs(self.store, request.id, report.sent if report else None)
            count = {"servers": len(ok) + len(unknown)}
            # Loud when it failed: the servers carry a password nobody holds yet.
            event = "delivered" if report is not None and report.reached else "delivery_failed"
            await self.store.add_audit(request.id, "bot", event, count)
        await notify_safely(
            self.notifier.request_updated(view, WorkflowEvent(EventKind.FINISHED, note=outcome)),
            "request_updated",
        )

    async def _heartbeat(self, request_id: int) -> None:
        interval = max(self.settings.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.store.heartbeat(request_id, self.settings.worker_id, self.clock.now()):
                    log.error("request #%d: lost the claim to another worker", request_id)
                    return
            except Exception as exc:  # a missed beat only risks an early takeover, which is safe
                log.warning("heartbeat for request #%d failed: %s", request_id, exc)


_PHASES = {
    ResetOutcome.SUCCEEDED: ServerPhase.SUCCEEDED,
    ResetOutcome.FAILED: ServerPhase.FAILED,
    ResetOutcome.UNKNOWN: ServerPhase.UNKNOWN,
}


def _result_update(result: ServerResetResult) -> ServerUpdate:
    return ServerUpdate(
        result.server_id,
        phase=_PHASES[result.outcome],
        error_code=result.error_code,
        error_message=result.error_message,
    )
