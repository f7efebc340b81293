"""Pre-flight: every server checked against the cloud (plug-in flag, dry run) before anyone is asked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bot.domain import RequestRecord, RequestStatus
from bot.ecs import EcsClient, EcsCredentialsRefused, EcsError, EcsNotFound, ResetOutcome
from bot.logs import bind_request
from bot.passwords import generate_password
from bot.store.records import ServerUpdate
from bot.workflow import sentences as say
from bot.workflow.breakglass import BreakGlassRuns
from bot.workflow.ports import EventKind, notify_safely
from bot.workflow.states import Move
from bot.workflow.views import keep_message_refs


class Preflight(BreakGlassRuns):
    """Checks a submitted request against the cloud, then asks the approvers or tells why not."""

    async def _announce_and_preflight(self, request_id: int) -> None:
        await self._notify(request_id, "request_submitted", self.notifier.request_submitted)
        await self.preflight(request_id)

    async def resume_preflight(self, request: RequestRecord) -> None:
        """A pre-flight a stopped process left (the caller took it over): that process may have stopped
        before telling the requester, so the front end first shows whatever it has not shown yet, then
        `preflight` runs. A refused notice is not raised (it is retried); raises `StoreUnavailable`."""
        bind_request(request.id)
        view = await self.view_of(request)
        sent = await notify_safely(self.notifier.ensure_shown(view), "ensure_shown")
        await keep_message_refs(self.store, request.id, sent)
        await self.preflight(request.id)

    async def preflight(self, request_id: int) -> None:
        """Checks every server against the cloud (plug-in flag, dry run) before anyone is asked, then
        moves request `request_id` to pending (the card is posted) or failed (the requester is told).
        Nothing to do when it is no longer in pre-flight. Cloud errors are recorded per server, never
        raised; raises `StoreUnavailable` (the sweeper's recovery picks the pre-flight up again)."""
        bind_request(request_id)
        request = await self.store.get_request(request_id)
        if request is None or request.status != RequestStatus.PREFLIGHT:
            return
        client = self.clients[request.target]
        servers = await self.store.servers(request_id)
        try:
            updates = await self._check_servers(
                client, request, [s.server_id for s in servers], {s.server_id: s.locked for s in servers}
            )
        except EcsError as exc:
            await self._move(
                request,
                Move.PREFLIGHT_FAILED,
                EventKind.PREFLIGHT_FAILED,
                outcome=say.preflight_failed(exc),
            )
            await self._release_break_glass(request)
            return
        await self.store.update_servers(request_id, updates)
        failed = [u for u in updates if u.preflight_error]
        if len(failed) == len(servers):
            await self._move(
                request,
                Move.PREFLIGHT_FAILED,
                EventKind.PREFLIGHT_FAILED,
                outcome=say.none_resettable(len(servers)),
            )
            await self._release_break_glass(request)
            return
        notes = []
        if failed:
            notes.append(say.some_skipped(len(failed), len(servers)))
        if client.batch_reset_supported is False:
            notes.append(say.NO_BATCH_DRY_RUN)
        note = " ".join(notes) or None
        if request.break_glass is not None:
            await self.store.add_audit(
                request_id,
                "bot",
                "preflight_passed",
                {"resettable": len(servers) - len(failed), "skipped": len(failed)},
            )
            await self._start_break_glass(request)
            return
        moved = await self._transition(request, Move.PREFLIGHT_PASSED, outcome=note)
        if moved is None:
            return
        await self.store.add_audit(
            request_id,
            "bot",
            "preflight_passed",
            {"resettable": len(servers) - len(failed), "skipped": len(failed)},
        )
        await self._notify(request_id, "request_ready", self.notifier.request_ready)

    async def _check_servers(
        self, client: EcsClient, request: RequestRecord, server_ids: list[str], locked: Mapping[str, bool]
    ) -> list[ServerUpdate]:
        async def plugin(server_id: str) -> tuple[str, bool | None, EcsError | None]:
            try:
                return server_id, await client.reset_plugin_installed(server_id), None
            except EcsError as exc:
                return server_id, None, exc

        flags = await asyncio.gather(*(plugin(sid) for sid in server_ids))
        failures = [error for _, _, error in flags if error is not None]
        if failures and len(failures) == len(flags) and not any(isinstance(e, EcsNotFound) for e in failures):
            # The cloud itself is out of reach or refuses the bot, not these servers: say so once, with
            # the error of a call that was sent (the others were not attempted after a refusal).
            raise next(
                (e for e in failures if not isinstance(e, EcsCredentialsRefused) or e.sent), failures[0]
            )
        errors: dict[str, str] = {}
        installed: dict[str, bool | None] = {}
        for sid, flag, error in flags:
            installed[sid] = flag
            if error:
                errors[sid] = str(error)
            elif locked.get(sid):
                errors[sid] = say.SERVER_LOCKED
            elif flag is False:
                errors[sid] = say.PLUGIN_MISSING
        candidates = [sid for sid in server_ids if sid not in errors]
        if candidates:
            # A throwaway password: a dry run checks it like a real one and changes nothing.
            results = await client.reset_passwords(candidates, generate_password(), dry_run=True)
            for result in results:
                if result.outcome != ResetOutcome.SUCCEEDED:
                    errors[result.server_id] = say.cloud_refused_server(
                        result.error_message, result.error_code
                    )
        return [
            ServerUpdate(
                server_id=sid,
                plugin_installed=installed.get(sid),
                preflight_error=errors.get(sid),
                clear_preflight_error=sid not in errors,
            )
            for sid in server_ids
        ]
