"""What every part of the workflow shares: its collaborators, reading a request's view, and moving a
request (compare-and-set, audit event, then the notices, in order per request)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Target
from bot.domain import RequestRecord
from bot.ecs import EcsClient
from bot.metrics import REQUESTS
from bot.store import Store
from bot.workflow.execution import Executor
from bot.workflow.inventory import Inventory
from bot.workflow.limits import RequestLimits
from bot.workflow.policy import Policy
from bot.workflow.ports import EventKind, Notifier, RequestView, SentMessages, WorkflowEvent, notify_safely
from bot.workflow.states import TRANSITIONS, Move
from bot.workflow.tasks import KeyedLocks, TaskKeeper
from bot.workflow.views import keep_message_refs, load_view

_PARTIES_KEPT = 4096  # requests whose requester and target this process remembers


class Moves:
    """The collaborators and the moves every part of the workflow makes."""

    def __init__(
        self,
        *,
        store: Store,
        targets: Mapping[str, Target],
        clients: Mapping[str, EcsClient],
        inventory: Inventory,
        policy: Policy,
        notifier: Notifier,
        tasks: TaskKeeper,
        executor: Executor,
        clock: Clock = SYSTEM_CLOCK,
        limits: RequestLimits | None = None,
    ) -> None:
        self.clock = clock
        self.limits = limits or RequestLimits()
        self.store = store
        self.targets = targets
        self.clients = clients
        self.inventory = inventory
        self.policy = policy
        self.notifier = notifier
        self.tasks = tasks
        self.executor = executor
        # One lock per request with notices queued or being sent, dropped when the last one is done.
        self._notify_locks = KeyedLocks()
        # Who asked and for which target never change once a request exists: a click the policy refuses
        # on those alone (one's own request, not an approver) needs no read of the store
        # (bench/ack_latency.py: the requester's own Approve clicks at 50 clients).
        self._parties: OrderedDict[int, RequestRecord] = OrderedDict()

    def _remember_parties(self, request: RequestRecord) -> None:
        self._parties[request.id] = request
        self._parties.move_to_end(request.id)
        while len(self._parties) > _PARTIES_KEPT:
            self._parties.popitem(last=False)

    async def view(self, request_id: int) -> RequestView | None:
        """Everything a front end shows of request `request_id` (servers, decisions, approvers channel),
        or None when there is no such request. Raises `StoreUnavailable`."""
        request = await self.store.get_request(request_id)
        if request is None:
            return None
        return await self.view_of(request)

    async def view_of(self, request: RequestRecord) -> RequestView:
        """`view` of a record already read. Raises `StoreUnavailable`."""
        return await load_view(self.store, self.targets, request)

    async def _transition(
        self, request: RequestRecord, move: Move, *, outcome: str | None = None
    ) -> RequestRecord | None:
        expected, new = TRANSITIONS[move]
        moved = await self.store.transition(request.id, expected, new, outcome_message=outcome)
        if moved is not None:
            REQUESTS.labels(request.target, new.value).inc()
        return moved

    async def _move(
        self,
        request: RequestRecord,
        move: Move,
        kind: EventKind,
        *,
        actor: str | None = None,
        outcome: str | None = None,
    ) -> RequestRecord | None:
        """A transition, its audit event and the notice to everyone involved, in that order."""
        moved = await self._transition(request, move, outcome=outcome)
        if moved is not None:
            await self._announce(moved, kind, actor, outcome)
        return moved

    async def _announce(
        self, moved: RequestRecord, kind: EventKind, actor: str | None, outcome: str | None
    ) -> None:
        await self.store.add_audit(
            moved.id, actor or "bot", kind.value, {"note": outcome} if outcome else None
        )
        event = WorkflowEvent(kind, actor, outcome)
        await self._notify(moved.id, "request_updated", lambda v: self.notifier.request_updated(v, event))

    async def _notify(
        self, request_id: int, what: str, send: Callable[[RequestView], Awaitable[SentMessages | None]]
    ) -> None:
        """Sends in the background, in order per request, drawn from the latest state of the request,
        so a click's answer never waits on Slack and a slow message never shows a stale card."""
        in_line = self._notify_locks.hold(request_id)

        async def run() -> None:
            async with in_line:
                view = await self.view(request_id)
                if view is not None:
                    await keep_message_refs(self.store, request_id, await notify_safely(send(view), what))

        self.tasks.spawn(run(), name=f"notify-{what}-{request_id}")
