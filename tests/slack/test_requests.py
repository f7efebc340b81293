"""The request modal over signed HTTP: inline errors create nothing; a good submission posts the card."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from slack_helpers import (
    APPROVERS_CHANNEL,
    GOOD_REASON,
    REQUESTER,
    block_texts,
    resettable_servers,
    server_id,
)

from bot.demo import World, submission_values
from bot.slack import ids


async def submit_values(world: World, values: dict[str, Any], user: str = REQUESTER) -> tuple[int, str]:
    view = await world.open_modal(user)
    return await world.send(world.requests.view_submission(user_id=user, view=view, values=values))


async def assert_inline_error(world: World, status: int, body: str, block: str, words: str) -> None:
    """The answer is `errors` on exactly `block`, and the store holds no request at all."""
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block]
    assert words in answer["errors"][block]
    assert await world.runtime.store.list_requests() == []
    await world.runtime.tasks.idle()
    assert world.slack.calls("chat.postMessage") == []


async def test_unknown_server(world: World) -> None:
    good = resettable_servers(world, 1)
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-aksk",
        servers=[*good, "no-such-server"],
        reason=GOOD_REASON,
    )
    await assert_inline_error(world, status, body, ids.PASTE_BLOCK, "Unknown servers: no-such-server.")


async def test_unknown_server_picked_in_the_search_box(world: World) -> None:
    values = submission_values(target="demo-aksk", paste="", reason=GOOD_REASON, picked=["not-an-id"])
    status, body = await submit_values(world, values)
    await assert_inline_error(world, status, body, ids.SERVERS_BLOCK, "Unknown servers: not-an-id.")


async def test_duplicate_servers(world: World) -> None:
    name = resettable_servers(world, 1)[0]
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-aksk",
        servers=[name, server_id(world, name)],
        reason=GOOD_REASON,
    )
    await assert_inline_error(world, status, body, ids.PASTE_BLOCK, "Listed more than once")


async def test_reason_must_match_the_targets_pattern(world: World) -> None:
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-aksk",
        servers=resettable_servers(world, 1),
        reason="because I forgot it",
    )
    await assert_inline_error(world, status, body, ids.REASON_BLOCK, "must match ^[A-Z]+-[0-9]+")


async def test_reason_is_required(world: World) -> None:
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-iam",
        servers=resettable_servers(world, 1),
        reason="   ",
    )
    await assert_inline_error(world, status, body, ids.REASON_BLOCK, "Give a reason")


async def test_no_servers(world: World) -> None:
    status, body = await world.submit(
        REQUESTER, await world.open_modal(REQUESTER), target="demo-aksk", servers=[], reason=GOOD_REASON
    )
    await assert_inline_error(world, status, body, ids.PASTE_BLOCK, "Pick at least one server")


async def test_no_target_picked(world: World) -> None:
    values = submission_values(target="demo-aksk", paste="web-0001", reason=GOOD_REASON)
    values[ids.TARGET_BLOCK][ids.TARGET_ACTION]["selected_option"] = None
    status, body = await submit_values(world, values)
    await assert_inline_error(world, status, body, ids.TARGET_BLOCK, "Pick a target.")


async def test_unknown_tag(world: World) -> None:
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-aksk",
        servers=[],
        reason=GOOD_REASON,
        tag="env=nowhere",
    )
    await assert_inline_error(world, status, body, ids.PASTE_BLOCK, "has the tag 'env=nowhere'")


async def test_target_not_allowed(restricted_world: World) -> None:
    world = restricted_world
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="demo-iam",
        servers=resettable_servers(world, 1),
        reason=GOOD_REASON,
    )
    await assert_inline_error(world, status, body, ids.TARGET_BLOCK, "may not request resets for target")


async def test_forged_target_value_is_refused(world: World) -> None:
    status, body = await world.submit(
        REQUESTER,
        await world.open_modal(REQUESTER),
        target="prod-somewhere-else",
        servers=resettable_servers(world, 1),
        reason=GOOD_REASON,
    )
    await assert_inline_error(world, status, body, ids.TARGET_BLOCK, "may not request resets")


async def test_good_submission_posts_the_card(world: World) -> None:
    names = resettable_servers(world, 2)
    view = await world.open_modal(REQUESTER, " ".join(names))
    opened = world.slack.open_views(REQUESTER)
    assert len(opened) == 1
    status, body = await world.submit(REQUESTER, view, target="demo-aksk", servers=names, reason=GOOD_REASON)
    assert status == 200
    assert body.strip() == "", "an empty ack closes the modal"
    assert world.slack.open_views(REQUESTER) == []
    assert opened[0].closed

    [request] = await world.runtime.store.list_requests()
    assert request.requester_id == REQUESTER
    assert request.target == "demo-aksk"
    assert request.reason == GOOD_REASON
    stored = await world.runtime.store.servers(request.id)
    assert sorted(s.name for s in stored) == names

    dm = await world.wait("chat.postMessage", lambda c: str(c.args.get("channel", "")).startswith("D"), 10.0)
    assert dm.args["channel"] == world.slack.dm_channel(REQUESTER)
    assert f"Request #{request.id} received" in str(dm.args["text"])

    card = await world.card_for(request.id)
    assert card.channel == APPROVERS_CHANNEL
    text = block_texts(card.blocks)
    for name in names:
        assert name in text
    assert GOOD_REASON in text
    buttons = [e for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ids.APPROVE_ACTION, ids.DENY_ACTION]
    assert [b["value"] for b in buttons] == [str(request.id), str(request.id)]


async def test_pasted_names_split_on_commas_and_newlines(world: World) -> None:
    names = resettable_servers(world, 3)
    values = submission_values(
        target="demo-aksk",
        paste=f"{names[0]}, {names[1]};\n\n{server_id(world, names[2])}",
        reason=GOOD_REASON,
    )
    status, body = await submit_values(world, values)
    assert (status, body.strip()) == (200, "")
    [request] = await world.runtime.store.list_requests()
    assert sorted(s.name for s in await world.runtime.store.servers(request.id)) == names


class SlowCreate:
    """Stands in for the store's create_request_once: waits for `release`, then creates (or fails)."""

    def __init__(self, world: World, *, fail: bool = False) -> None:
        self.real = world.runtime.store.create_request_once
        self.fail = fail
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        await self.release.wait()
        if self.fail:
            raise ConnectionError("database went away")
        return await self.real(*args, **kwargs)


async def _submit_good(world: World) -> tuple[int, str]:
    view = await world.open_modal(REQUESTER)
    return await world.submit(
        REQUESTER, view, target="demo-aksk", servers=resettable_servers(world, 1), reason=GOOD_REASON
    )


def _dms_to_requester(world: World) -> list[str]:
    dm = world.slack.dm_channel(REQUESTER)
    return [
        str(c.args.get("text")) for c in world.slack.calls("chat.postMessage") if c.args.get("channel") == dm
    ]


async def test_recording_that_outlasts_the_answer_is_not_called_nothing_created(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stalls while the request is being written: the answer says it is still being
    recorded (never "nothing was created"), the form is replaced so it cannot be resubmitted, and once
    the database answers the request exists, once, and the requester gets its number in a DM."""
    slow = SlowCreate(world)
    monkeypatch.setattr(world.runtime.store, "create_request_once", slow)
    status, body = await _submit_good(world)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update", answer
    shown = json.dumps(answer["view"])
    assert "still being recorded" in shown
    assert "Nothing was created" not in shown
    assert "DM" in shown
    [modal] = world.slack.open_views(REQUESTER)
    assert "still being recorded" in json.dumps(modal.view), "the form is gone: no resubmit from it"
    assert slow.entered.is_set()
    assert await world.runtime.store.list_requests() == []  # not yet: the write is held

    slow.release.set()  # the database answers after Slack's deadline has passed
    dm = await world.wait("chat.postMessage", lambda c: "received" in str(c.args.get("text")), timeout=10.0)
    [request] = await world.runtime.store.list_requests()
    assert f"Request #{request.id} received" in str(dm.args["text"])
    assert dm.args["channel"] == world.slack.dm_channel(REQUESTER)
    await world.runtime.tasks.idle()
    assert not any("could not be recorded" in t for t in _dms_to_requester(world))
    assert [r.id for r in await world.runtime.store.list_requests()] == [request.id]


async def test_recording_that_fails_after_the_answer_is_reported_by_dm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still recording at the answer, then the write fails: nothing exists and the DM says so."""
    slow = SlowCreate(world, fail=True)
    monkeypatch.setattr(world.runtime.store, "create_request_once", slow)
    status, body = await _submit_good(world)
    assert status == 200
    assert json.loads(body)["response_action"] == "update"
    slow.release.set()
    dm = await world.wait(
        "chat.postMessage", lambda c: "could not be recorded" in str(c.args.get("text")), timeout=10.0
    )
    assert dm.args["channel"] == world.slack.dm_channel(REQUESTER)
    assert "Nothing was created" in str(dm.args["text"])
    await world.runtime.tasks.idle()
    assert await world.runtime.store.list_requests() == []
    assert not any("received" in t for t in _dms_to_requester(world))


async def test_recording_that_fails_in_time_says_nothing_was_created(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write fails before the answer: an inline error, and indeed nothing exists."""
    slow = SlowCreate(world, fail=True)
    slow.release.set()
    monkeypatch.setattr(world.runtime.store, "create_request_once", slow)
    status, body = await _submit_good(world)
    monkeypatch.undo()
    await assert_inline_error(world, status, body, ids.REASON_BLOCK, "Nothing was created")


async def test_submission_when_the_checks_do_not_answer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server lookup hangs: the modal gets an inline error at the deadline; the checks write
    nothing, so "nothing was created" is true."""

    async def never(*_: Any, **__: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(world.runtime.workflow.inventory, "resolve", never)
    status, body = await _submit_good(world)
    monkeypatch.undo()
    await assert_inline_error(world, status, body, ids.REASON_BLOCK, "Nothing was created")


@pytest.mark.parametrize("when", ["after the first", "at the same time"])
async def test_a_replayed_submission_makes_no_second_request(world: World, when: str) -> None:
    """The very same signed view_submission body delivered twice (a network retry, or an attacker
    re-sending a captured body within the signature's 5 minutes): both answers close the modal, and
    there is one request, one card and one DM."""
    names = resettable_servers(world, 1)
    view = await world.open_modal(REQUESTER, " ".join(names))
    values = submission_values(target="demo-aksk", paste="\n".join(names), reason=GOOD_REASON)
    signed = world.requests.view_submission(user_id=REQUESTER, view=view, values=values)
    if when == "after the first":
        first = await world.send(signed)
        [request] = await world.runtime.store.list_requests()
        await world.card_for(request.id)
        await world.runtime.tasks.idle()
        answers = [first, await world.send(signed)]
    else:
        answers = list(await asyncio.gather(world.send(signed), world.send(signed)))
    assert [(status, body.strip()) for status, body in answers] == [(200, ""), (200, "")]
    await world.runtime.tasks.idle()

    [request] = await world.runtime.store.list_requests()
    assert request.submission_key == f"slack-view:{view['id']}"
    await world.card_for(request.id)
    cards = [
        m
        for m in world.slack.messages(APPROVERS_CHANNEL)
        if m.thread_ts is None and m.text.startswith(f"Password reset request #{request.id} ")
    ]
    assert len(cards) == 1
    assert [t for t in _dms_to_requester(world) if "received" in t] == [
        f"Request #{request.id} received; checking it with the cloud."
    ]
    assert len(world.sim.calls_to("/os-reset-passwords", "PUT")) == 1, "one pre-flight dry run"
    events = [a.event for a in await world.runtime.store.audit(request.id)]
    assert events.count("submitted") == 1


async def test_a_modal_corrected_after_an_inline_error_is_still_recorded(world: World) -> None:
    """The key is the modal's id, which stays the same when Slack shows errors on it: a correction
    submitted from that same modal is a first submission, not a replay."""
    view = await world.open_modal(REQUESTER)
    names = resettable_servers(world, 1)
    status, body = await world.submit(REQUESTER, view, target="demo-aksk", servers=names, reason="no ticket")
    assert json.loads(body)["response_action"] == "errors"
    status, body = await world.submit(REQUESTER, view, target="demo-aksk", servers=names, reason=GOOD_REASON)
    assert (status, body.strip()) == (200, "")
    [request] = await world.runtime.store.list_requests()
    assert request.submission_key == f"slack-view:{view['id']}"
