"""Reading servers: the paged list that cannot silently lose or repeat a server, one server, its plug-in flag.

The list pages with `offset` (a page number; 1 and 0 both mean the first page) and `limit` (at most 1000).
Clouds seen in the field cap the page size below what was asked, ignore `offset`, or omit `count`; the
listing therefore de-duplicates by ID, stops on a page that brings nothing new, continues with the page size
actually served when `count` says more exist, has a hard cap on pages, and says when it is incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.ecs.caller import Caller
from bot.ecs.errors import EcsProtocolError
from bot.ecs.models import Server

#: The API's largest page for listing servers.
PAGE_LIMIT = 1000
#: No listing reads more pages than this, whatever the cloud says (a cloud that ignores `offset` and
#: gives no `count` would otherwise be read for ever; de-duplication stops that sooner).
MAX_PAGES = 500


@dataclass(frozen=True, slots=True)
class ServerListing:
    """Every server a listing gathered, each once, and whether that is all of them.

    `reported_count` is the cloud's `count` (None if it gave none); `incomplete` is None when the list is
    complete as far as the cloud's answers tell, else a sentence saying what is missing and why.
    """

    servers: list[Server]
    reported_count: int | None = None
    incomplete: str | None = None

    @property
    def complete(self) -> bool:
        return self.incomplete is None


async def list_servers(
    caller: Caller,
    *,
    name: str | None = None,
    ip: str | None = None,
    tags: Sequence[str] | None = None,
    status: str | None = None,
    page_limit: int = PAGE_LIMIT,
    max_pages: int = MAX_PAGES,
) -> ServerListing:
    """Every server matching the filters, across all pages; see `ServerListing`."""
    filters = {"name": name, "ip": ip, "status": status, "tags": ",".join(tags) if tags else None}
    query = {k: v for k, v in filters.items() if v}
    found: dict[str, Server] = {}
    limit = page_limit
    page = 1
    count: int | None = None
    last_full = False
    for _ in range(max_pages):
        data = await caller.call(
            "GET", "/cloudservers/detail", query={**query, "offset": str(page), "limit": str(limit)}
        )
        raw = data.get("servers")
        if not isinstance(raw, list):
            raise EcsProtocolError("the server list answer has no `servers` array")
        reported = data.get("count")
        count = reported if isinstance(reported, int) and not isinstance(reported, bool) else count
        before = len(found)
        for item in raw:
            if isinstance(item, dict) and "id" in item:
                server = Server.from_api(item)
                found.setdefault(server.id, server)
        new = len(found) - before
        served = len(raw)
        last_full = served >= limit
        if served == 0 or new == 0:
            break  # the end, or a cloud that repeats a page (it ignores `offset`): nothing more to gain
        if count is not None and len(found) >= count:
            break
        if served < limit:
            if count is None:
                break  # a short page and no count: the last page
            # `count` says more exist: the cloud serves fewer per page than asked. Continue in its page
            # size, so the page number means the same whatever the cloud multiplies it by.
            limit = served
            page = len(found) // limit + 1
            continue
        page += 1
    else:
        return _listing(found, count, f"stopped after {max_pages} pages")
    if count is not None and len(found) < count:
        return _listing(found, count, "the cloud did not serve the rest")
    if count is None and last_full and new == 0:
        return _listing(found, None, "the cloud repeated a page and gave no count")
    return ServerListing(list(found.values()), count)


def _listing(found: dict[str, Server], count: int | None, why: str) -> ServerListing:
    of = f" of {count}" if count is not None else ""
    sentence = f"the cloud listed {len(found)}{of} servers ({why})"
    return ServerListing(list(found.values()), count, sentence)


async def get_server(caller: Caller, server_id: str) -> Server:
    """One server; `EcsNotFound` if it does not exist in this project."""
    data = await caller.call("GET", f"/cloudservers/{server_id}", server_id=server_id)
    raw = data.get("server")
    if not isinstance(raw, dict):
        raise EcsProtocolError("the server answer has no `server` object", server_id=server_id)
    return Server.from_api(raw)


async def reset_plugin_installed(caller: Caller, server_id: str) -> bool | None:
    """Whether the one-click password reset plug-in is installed: the flag is the string "True" or
    "False"; None when the answer has no flag (unknown, not "not installed")."""
    data = await caller.call("GET", f"/cloudservers/{server_id}/os-resetpwd-flag", server_id=server_id)
    flag = data.get("resetpwd_flag")
    if flag is None or str(flag).strip() == "":
        return None
    return str(flag).strip().lower() == "true"
