"""A per-target cache of the live server list, so typeahead and validation answer within Slack's 3 s
(kept by bench/server_search.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.clock import SYSTEM_CLOCK, Clock
from bot.ecs import EcsClient, EcsError, Server, ServerListing
from bot.workflow import sentences as say

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Snapshot:
    servers: list[Server]
    fetched_at: float
    incomplete: str | None = None
    """The listing's sentence when the cloud did not serve every server (see `ServerListing`)."""
    by_id: dict[str, Server] = field(default_factory=dict)
    by_name: dict[str, list[Server]] = field(default_factory=dict)
    by_ip: dict[str, list[Server]] = field(default_factory=dict)
    haystacks: list[tuple[str, Server]] = field(default_factory=list)
    rendered: dict[Callable[[ServerChoice], Any], dict[str, Any]] = field(default_factory=dict)
    """Per renderer, what each server was rendered to (by server id); lives and dies with the list."""

    @classmethod
    def build(cls, listing: ServerListing, fetched_at: float) -> _Snapshot:
        snap = cls(
            servers=sorted(listing.servers, key=lambda s: s.name.lower()),
            fetched_at=fetched_at,
            incomplete=listing.incomplete,
        )
        for server in snap.servers:
            snap.by_id[server.id.lower()] = server
            snap.by_name.setdefault(server.name.lower(), []).append(server)
            for ip in server.addresses:
                snap.by_ip.setdefault(ip, []).append(server)
            haystack = " ".join([server.name.lower(), server.id.lower(), *server.addresses])
            snap.haystacks.append((haystack, server))
        return snap


@dataclass(frozen=True)
class ServerChoice:
    """One server as a person choosing among them sees it: the workflow's own type, so front ends never
    depend on the cloud client's models. `address`: its first IP (None when it has none); `status`: the
    cloud's word for its state (ACTIVE, SHUTOFF, ...)."""

    server_id: str
    name: str
    address: str | None
    os_type: str | None
    status: str

    @classmethod
    def of(cls, server: Server) -> ServerChoice:
        address = server.addresses[0] if server.addresses else None
        return cls(server.id, server.name, address, server.os_type, server.status)


@dataclass(frozen=True)
class Resolution:
    """How the names, IDs and IPs someone typed map onto real servers."""

    servers: list[Server]
    unknown: list[str]
    ambiguous: dict[str, list[Server]]
    duplicates: list[str]


class InventoryUnavailable(Exception):
    """The server list of a target could not be had in time; the sentence says why."""


class Inventory:
    """Holds the last server list per target and refreshes it in the background, one fetch at a time."""

    def __init__(
        self, clients: Mapping[str, EcsClient], *, max_age_s: float = 300.0, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._clock = clock
        self._clients = clients
        self._max_age_s = max_age_s
        self._snapshots: dict[str, _Snapshot] = {}
        self._inflight: dict[str, asyncio.Task[_Snapshot]] = {}

    def _refresh_task(self, target: str) -> asyncio.Task[_Snapshot]:
        task = self._inflight.get(target)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._fetch(target), name=f"inventory-{target}")
            self._inflight[target] = task
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # seen, logged by awaiters
        return task

    async def _fetch(self, target: str) -> _Snapshot:
        started = self._clock.monotonic()
        listing = await self._clients[target].list_servers()
        snap = _Snapshot.build(listing, self._clock.monotonic())
        self._snapshots[target] = snap
        log.debug(  # every refresh, per target: DEBUG (problems are WARNING lines below and in callers)
            "server list of %s refreshed: %d servers in %.2fs",
            target,
            len(snap.servers),
            self._clock.monotonic() - started,
        )
        if snap.incomplete:
            log.warning("server list of %s is incomplete: %s", target, snap.incomplete)
        return snap

    def refresh_stale(self) -> None:
        """Starts a background refresh of every list older than its maximum age (the sweeper calls it)."""
        now = self._clock.monotonic()
        for target in self._clients:
            snap = self._snapshots.get(target)
            if snap is not None and now - snap.fetched_at > self._max_age_s:
                self._refresh_task(target)

    async def refresh(self, target: str) -> None:
        await self._refresh_task(target)

    def cached(self, target: str) -> list[Server] | None:
        snap = self._snapshots.get(target)
        return None if snap is None else snap.servers

    def incomplete_label(self, target: str) -> str | None:
        """`incomplete` in at most 75 characters (a label under a search box), else None."""
        snap = self._snapshots.get(target)
        if snap is None or snap.incomplete is None:
            return None
        return say.incomplete_label(len(snap.servers))

    def incomplete(self, target: str) -> str | None:
        """A sentence for people when the cached list of `target` is known to miss servers, else None."""
        snap = self._snapshots.get(target)
        if snap is None or snap.incomplete is None:
            return None
        return say.incomplete_list(target, snap.incomplete)

    async def _snapshot(self, target: str, max_wait_s: float) -> _Snapshot:
        if target not in self._clients:
            raise InventoryUnavailable(say.unknown_target(target))
        snap = self._snapshots.get(target)
        if snap is not None:
            if self._clock.monotonic() - snap.fetched_at > self._max_age_s:
                self._refresh_task(target)  # serve the stale list now, a fresh one next time
            return snap
        task = self._refresh_task(target)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=max_wait_s)
        except TimeoutError:
            raise InventoryUnavailable(say.list_loading(target)) from None
        except EcsError as exc:
            raise InventoryUnavailable(say.list_failed(target, exc)) from None

    async def search(
        self, target: str, query: str, *, limit: int = 100, max_wait_s: float = 2.0
    ) -> list[Server]:
        """Servers whose name, ID or IP contains the query; names that start with it come first."""
        return self._search(await self._snapshot(target, max_wait_s), query, limit)

    async def search_rendered(
        self,
        target: str,
        query: str,
        render: Callable[[ServerChoice], T],
        *,
        limit: int = 100,
        max_wait_s: float = 2.0,
    ) -> list[T]:
        """`search`, each server passed through `render`; a server is rendered once per server list,
        so a warm answer is a list of ready objects (callers must not mutate them)."""
        snap = await self._snapshot(target, max_wait_s)
        done = snap.rendered.setdefault(render, {})
        out: list[T] = []
        for server in self._search(snap, query, limit):
            item = done.get(server.id)
            if item is None:
                item = done[server.id] = render(ServerChoice.of(server))
            out.append(item)
        return out

    @staticmethod
    def _search(snap: _Snapshot, query: str, limit: int) -> list[Server]:
        needle = query.strip().lower()
        if not needle:
            return snap.servers[:limit]
        starts: list[Server] = []
        contains: list[Server] = []
        for haystack, server in snap.haystacks:
            if needle in haystack:
                if haystack.startswith(needle):
                    starts.append(server)
                    if len(starts) >= limit:
                        break
                elif len(contains) < limit:
                    contains.append(server)
        return (starts + contains)[:limit]

    async def with_tag(self, target: str, tag: str, *, max_wait_s: float = 2.0) -> list[Server]:
        snap = await self._snapshot(target, max_wait_s)
        wanted = tag.strip()
        return [
            s
            for s in snap.servers
            if wanted in s.tags or (("=" not in wanted) and any(t.split("=", 1)[0] == wanted for t in s.tags))
        ]

    async def name_counts(self, target: str, *, max_wait_s: float = 2.0) -> dict[str, int]:
        """How many servers of the target carry each name, compared without case (`web-01` -> 2)."""
        snap = await self._snapshot(target, max_wait_s)
        return {name: len(servers) for name, servers in snap.by_name.items()}

    async def resolve(self, target: str, refs: Iterable[str], *, max_wait_s: float = 2.0) -> Resolution:
        snap = await self._snapshot(target, max_wait_s)
        found: dict[str, Server] = {}
        unknown: list[str] = []
        ambiguous: dict[str, list[Server]] = {}
        duplicates: list[str] = []
        for ref in refs:
            key = ref.strip()
            if not key:
                continue
            low = key.lower()
            by_id = snap.by_id.get(low)
            matches = [by_id] if by_id else snap.by_name.get(low) or snap.by_ip.get(key) or []
            if not matches:
                unknown.append(key)
            elif len(matches) > 1:
                ambiguous[key] = matches
            elif matches[0].id in found:
                duplicates.append(key)
            else:
                found[matches[0].id] = matches[0]
        return Resolution(list(found.values()), unknown, ambiguous, duplicates)
