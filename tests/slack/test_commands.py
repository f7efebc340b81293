"""`/reset-ecs-password` over signed HTTP: sub-commands answer in the response, the rest open a modal."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from slack_helpers import (
    APPROVERS,
    OUTSIDER,
    REQUESTER,
    block_texts,
    effects,
    resettable_servers,
    status_of,
    submit_request,
    view_json,
)

from bot.demo import World
from bot.domain import RequestStatus
from bot.slack import ids
from bot.store import StoreUnavailable

SLACK_DEADLINE_S = 3.0


async def command(world: World, text: str, user: str = REQUESTER) -> tuple[int, str, float]:
    """Sends the slash command; returns the HTTP status, the answer's text and how long it took."""
    started = time.monotonic()
    status, body = await world.send(world.requests.slash_command(ids.COMMAND, text, user_id=user))
    elapsed = time.monotonic() - started
    return status, _text_of(body), elapsed


def _text_of(body: str) -> str:
    """Bolt answers `ack(text=...)` with the plain text; a JSON answer carries it in `text`."""
    if body.strip().startswith("{"):
        return str(json.loads(body).get("text", ""))
    return body


async def test_help_answers_in_the_http_response(world: World) -> None:
    since = world.slack.call_count
    status, answer, elapsed = await command(world, "help")
    assert status == 200
    assert elapsed < SLACK_DEADLINE_S
    assert "status <id>" in answer
    assert "history" in answer
    assert "cancel <id>" in answer
    await world.runtime.tasks.idle()
    assert effects(world, since) == [], "help must not call Slack"


async def test_status_of_own_request(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    status, answer, _ = await command(world, f"status {request.id}")
    assert status == 200
    assert f"Request #{request.id} is" in answer
    status, answer, _ = await command(world, f"status #{request.id}")
    assert f"Request #{request.id} is" in answer


async def test_status_of_someone_elses_request_is_refused(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    status, answer, _ = await command(world, f"status {request.id}", user=OUTSIDER)
    assert status == 200
    assert answer == f"Request #{request.id} is not yours to see."


async def test_status_seen_by_an_approver(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    _, answer, _ = await command(world, f"status {request.id}", user=APPROVERS[0])
    assert f"Request #{request.id} is" in answer


async def test_status_of_unknown_request(world: World) -> None:
    _, answer, _ = await command(world, "status 999")
    assert answer == "There is no request #999."


async def test_history(world: World) -> None:
    _, answer, _ = await command(world, "history")
    assert answer == "You have no requests yet."
    first = await submit_request(world, resettable_servers(world, 1))
    second = await submit_request(world, resettable_servers(world, 1, skip=1))
    _, answer, _ = await command(world, "history")
    lines = answer.splitlines()
    assert lines[0].startswith(f"#{second.id} demo-aksk: ")
    assert lines[1].startswith(f"#{first.id} demo-aksk: ")
    _, answer, _ = await command(world, "history", user=OUTSIDER)
    assert answer == "You have no requests yet."


async def test_cancel(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    _, answer, _ = await command(world, f"cancel {request.id}", user=OUTSIDER)
    assert answer.startswith("Only the requester or an approver")
    _, answer, _ = await command(world, f"cancel {request.id}")
    assert answer == f"Request #{request.id} cancelled."
    stored = await world.runtime.store.get_request(request.id)
    assert stored is not None
    assert stored.status == "cancelled"
    _, answer, _ = await command(world, f"cancel {request.id}")
    assert "already cancelled" in answer
    assert "can no longer be cancelled" in answer


@pytest.mark.parametrize("text", ["status", "status abc", "cancel", "cancel -3", "STATUS 1x"])
async def test_bad_number_gets_the_usage(world: World, text: str) -> None:
    status, answer, _ = await command(world, text)
    assert status == 200
    word = text.split()[0].lower()
    assert answer == f"Usage: `{ids.COMMAND} {word} <request number>`"


async def test_names_open_the_modal_prefilled(world: World) -> None:
    since = world.slack.call_count
    request = world.requests.slash_command(ids.COMMAND, "web-0001 web-0002,web-0003", user_id=REQUESTER)
    trigger_id = dict(item.split("=", 1) for item in request.body.decode().split("&"))["trigger_id"]
    status, body = await world.send(request)
    assert (status, body.strip()) == (200, "")
    call = await world.slack.wait_for("views.open", None, 5.0, since=since)
    assert call.ok
    from urllib.parse import unquote_plus

    assert call.args["trigger_id"] == unquote_plus(trigger_id)
    view = view_json(call)
    assert view["callback_id"] == ids.REQUEST_MODAL
    paste = next(b for b in view["blocks"] if b["block_id"] == ids.PASTE_BLOCK)
    assert paste["element"]["initial_value"] == "web-0001\nweb-0002\nweb-0003"
    target = next(b for b in view["blocks"] if b["block_id"] == ids.TARGET_BLOCK)
    assert [o["value"] for o in target["element"]["options"]] == ["demo-aksk", "demo-iam"]


async def test_empty_command_opens_an_empty_modal(world: World) -> None:
    view = await world.open_modal(REQUESTER, "")
    paste = next(b for b in view["blocks"] if b["block_id"] == ids.PASTE_BLOCK)
    assert "initial_value" not in paste["element"]


async def test_user_allowed_no_target_gets_not_allowed(restricted_world: World) -> None:
    world = restricted_world
    view = await world.open_modal(OUTSIDER, "web-0001")
    assert view["title"]["text"] == "Not allowed"
    assert "callback_id" not in view or view["callback_id"] != ids.REQUEST_MODAL
    assert "may not request password resets for any target" in json.dumps(view)


async def test_modal_offers_only_the_targets_a_user_may_request(restricted_world: World) -> None:
    view = await restricted_world.open_modal(REQUESTER)
    target = next(b for b in view["blocks"] if b["block_id"] == ids.TARGET_BLOCK)
    assert [o["value"] for o in target["element"]["options"]] == ["demo-aksk"]
    assert target["element"]["initial_option"]["value"] == "demo-aksk"
    reason = next(b for b in view["blocks"] if b["block_id"] == ids.REASON_BLOCK)
    assert "^[A-Z]+-[0-9]+" in reason["hint"]["text"]


def _hang_forever(*_: Any, **__: Any) -> Any:
    async def never() -> None:
        await asyncio.Event().wait()

    return never()


def _unavailable(*_: Any, **__: Any) -> Any:
    async def fail() -> None:
        raise StoreUnavailable("database sqlite+aiosqlite:///gone is unavailable: OperationalError")

    return fail()


@pytest.mark.parametrize("text", ["status 1", "history"])
async def test_database_that_does_not_answer(
    world: World, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    store = world.runtime.store
    for name in ("get_request", "list_requests"):
        monkeypatch.setattr(store, name, _hang_forever)
    status, answer, elapsed = await command(world, text)
    assert status == 200
    assert elapsed < SLACK_DEADLINE_S
    assert answer.startswith("I could not read the requests right now; nothing was changed.")


async def test_a_cancel_slower_than_slack_waits_is_not_cut_off(world: World) -> None:
    """A cancel is a change: past Slack's deadline the person is told it is still being recorded, and
    it runs to its end (the request cancelled, the requester told), not cut off between its steps."""
    request = await submit_request(world, resettable_servers(world, 1))
    writers = world.runtime.store._sqlite_writers
    assert writers is not None
    async with writers:  # every write of this process waits, as on a database that stalls
        status, answer, elapsed = await command(world, f"cancel {request.id}")
        assert status == 200
        assert elapsed < SLACK_DEADLINE_S
        assert answer.startswith(f"Your cancel of request #{request.id} is still being recorded")
    await world.runtime.tasks.idle()
    assert await status_of(world, request.id) == RequestStatus.CANCELLED
    events = [a.event for a in await world.runtime.store.audit(request.id)]
    assert "cancelled" in events, "the cancel ran to its end: its audit row and notices follow the move"
    requester_dm = "\n".join(
        block_texts(m.blocks) + m.text for m in world.slack.messages(world.slack.dm_channel(REQUESTER))
    )
    assert "Cancelled" in requester_dm


@pytest.mark.parametrize("text", ["status 1", "history"])
async def test_database_that_fails(world: World, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    store = world.runtime.store
    for name in ("get_request", "list_requests"):
        monkeypatch.setattr(store, name, _unavailable)
    status, answer, elapsed = await command(world, text)
    assert status == 200
    assert elapsed < 1.0
    assert "could not read the requests" in answer
    assert "sqlite" not in answer, "database details stay in the log"


async def test_database_file_gone(world: World, tmp_path: Any) -> None:
    """A real broken engine (a directory where the SQLite file should be), not a monkeypatch."""
    from sqlalchemy.ext.asyncio import create_async_engine

    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    store = world.runtime.store
    working = store._engine
    store._engine = create_async_engine(f"sqlite+aiosqlite:///{folder}")
    try:
        status, answer, elapsed = await command(world, "history")
        assert status == 200
        assert elapsed < SLACK_DEADLINE_S
        assert "could not read the requests" in answer
    finally:
        await store._engine.dispose()
        store._engine = working
    _, answer, _ = await command(world, "history")
    assert answer == "You have no requests yet."
