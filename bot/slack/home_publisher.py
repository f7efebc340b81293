"""Publishing people's Home tabs: at once for whoever opened it or clicked in it, and, when a request
changes, once per person per window however many changes came (a request's approval, execution and
delivery are one publish for each person involved, not five).

Slack sends `app_home_opened` each time someone opens the tab, and the bot publishes it then: nobody ever
opens a stale Home tab. Refreshes on change are therefore for the people who may be looking at it now:
those involved in the request who opened their tab (or clicked in it) within `WATCHING_S` on this
process. A target with sixty approvers does not cost sixty `views.publish` per change (Tier 4: about
100 a minute), and anyone else sees the change the moment they open the tab.

Each person's publish is its own unit: a refused `views.publish` (classified in `refusals`) is logged and,
when it may pass (a rate limit, an outage), tried again at the next flush; it never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SYSTEM_CLOCK, Clock
from bot.slack.blocks.home import home_view
from bot.slack.refusals import HANDLING, RefusalKind, classify
from bot.workflow import KeyedLocks, RequestView, TaskKeeper, Workflow

log = logging.getLogger(__name__)

COALESCE_S = 1.0
"""Changes to requests within this long are one publish per person."""
NOTICE_KEPT_S = 300.0
"""The answer to a click stays on top of the person's Home tab this long (refreshes keep it)."""
WATCHING_S = 3600.0
"""Someone who opened their Home tab this recently gets it refreshed when a request of theirs changes."""
RETRIES = 5
"""A publish refused for a passing reason is tried again at this many later flushes, then left to the
person's next opening of the tab."""


@dataclass
class _Notice:
    text: str
    until: float


class HomePublisher:
    """Owns every `views.publish`; the notifier tells it which requests changed (`request_changed`).

    `window_s=None` publishes only on `flush()` (tests, which flush explicitly instead of waiting).
    """

    def __init__(
        self,
        workflow: Workflow,
        client: AsyncWebClient,
        tasks: TaskKeeper,
        *,
        window_s: float | None = COALESCE_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.workflow = workflow
        self.client = client
        self.tasks = tasks
        self.window_s = window_s
        self.clock = clock
        self._dirty: dict[str, int] = {}  # person -> refused attempts so far
        self._marking: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._notices: dict[str, _Notice] = {}
        self._watching: dict[str, float] = {}  # person -> monotonic time they last opened or clicked
        # One publish at a time per person, its content read inside: a later publish never shows older
        # facts than an earlier one (an answer's notice and a refresh cross often). Dropped when unused.
        self._locks = KeyedLocks()
        self._closed = False

    # -- what changed ---------------------------------------------------------------------------------

    def request_changed(self, view: RequestView) -> None:
        """A request changed: the Home tabs of everyone involved are published at the next flush. Cheap
        and never raises (who is involved is read in the background), so no notice waits on it."""
        if self._closed or not self._watching:
            return  # nobody has a Home tab open here: whoever opens one next gets it fresh
        task = self.tasks.spawn(self._mark(view), name=f"home-mark-{view.request.id}")
        if task is not None:
            self._marking.add(task)
            task.add_done_callback(self._marking.discard)

    async def _mark(self, view: RequestView) -> None:
        people = await self.workflow.people_involved(view.request)
        for person in people:
            self.mark(person)

    def mark(self, user_id: str) -> None:
        """What `user_id`'s Home tab shows changed: published at the next flush if they may be looking."""
        seen = self._watching.get(user_id)
        if seen is None:
            return
        if seen + WATCHING_S <= self.clock.monotonic():
            del self._watching[user_id]
            return
        self._dirty.setdefault(user_id, 0)
        self._schedule()

    def _schedule(self) -> None:
        if self.window_s is None or self._timer is not None or not self._dirty:
            return
        self._timer = asyncio.get_running_loop().call_later(self.window_s, self._due)

    def _due(self) -> None:
        self._timer = None
        self.tasks.spawn(self.flush(), name="home-flush")

    async def flush(self) -> int:
        """Publishes the Home tab of everyone marked so far, one `views.publish` each; returns how many
        were published. Waits for marks still being worked out first."""
        if self._marking:
            await asyncio.wait(set(self._marking))
        marked, self._dirty = self._dirty, {}
        published = 0
        for person, attempts in sorted(marked.items()):
            refusal = await self._publish(person)
            if refusal is None:
                published += 1
            elif HANDLING[refusal].retry and attempts < RETRIES:
                self._dirty.setdefault(person, attempts + 1)
        self._schedule()
        return published

    def close(self) -> None:
        """Stops the pending flush (at shutdown; people see the latest state when they next open it)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- publishing -----------------------------------------------------------------------------------

    async def publish(self, user_id: str, notice: str | None = None) -> bool:
        """Publishes `user_id`'s Home tab now (they opened it or clicked in it: they are looking), with
        `notice` on top (kept a while across refreshes). False when it could not be published (logged;
        the caller tells the person another way)."""
        self._watching[user_id] = self.clock.monotonic()
        if notice:
            self._notices[user_id] = _Notice(notice, self.clock.monotonic() + NOTICE_KEPT_S)
        self._dirty.pop(user_id, None)  # this publish is the latest state: a pending one adds nothing
        refusal = await self._publish(user_id)
        if refusal is not None and HANDLING[refusal].retry:
            self._dirty.setdefault(user_id, 1)  # tried again at the next flush, like a refresh
            self._schedule()
        return refusal is None

    async def _publish(self, user_id: str) -> RefusalKind | None:
        async with self._locks.hold(user_id):
            return await self._publish_now(user_id)

    async def _publish_now(self, user_id: str) -> RefusalKind | None:
        notice = self._notices.get(user_id)
        if notice is not None and notice.until <= self.clock.monotonic():
            del self._notices[user_id]
            notice = None
        try:
            home = await self.workflow.home_for(user_id)
            await self.client.views_publish(
                user_id=user_id, view=home_view(home, notice.text if notice else None)
            )
        except Exception as exc:
            refusal = classify(exc, "views.publish")
            loud = refusal.kind in (RefusalKind.OPERATOR_MUST_FIX, RefusalKind.BOT_FAULT)
            level = logging.ERROR if loud else logging.WARNING
            log.log(level, "Home tab of %s not published: %s %s", user_id, refusal.method, refusal.error)
            return refusal.kind
        return None
