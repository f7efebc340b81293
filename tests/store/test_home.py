"""One person's overview: requests waiting on their decision, and reveals they can still use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain import Decision, NewRequest, RequestStatus
from bot.store import Store

from .conftest import finish

APPROVER = "U_APPROVER"


async def _pending(store: Store, make_request: Callable[..., NewRequest], **kwargs: object) -> int:
    request = (await store.create_request_once(make_request(**kwargs), [])).request
    moved = await store.transition(request.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING)
    assert moved is not None
    return request.id


async def test_awaiting_decision_is_pending_of_those_targets_not_theirs_not_decided(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    waiting = await _pending(store, make_request)
    other_target = await _pending(store, make_request, target="test-eu-nl")
    own = await _pending(store, make_request, requester_id=APPROVER)
    decided = await _pending(store, make_request)
    assert await store.approve(decided, APPROVER, approvals_required=2, claimed_by="W1")
    decided_by_another = await _pending(store, make_request)
    assert await store.add_decision(decided_by_another, "U_OTHER", Decision.APPROVE, None)
    still_checking = (await store.create_request_once(make_request(), [])).request.id
    denied = await _pending(store, make_request)
    assert await store.transition(denied, {RequestStatus.PENDING}, RequestStatus.DENIED)

    found = await store.awaiting_decision(APPROVER, ["prod-eu-de"], limit=10)
    assert [r.id for r in found] == [waiting, decided_by_another]  # oldest first
    assert own not in [r.id for r in found]
    assert still_checking not in [r.id for r in found]
    both = await store.awaiting_decision(APPROVER, ["prod-eu-de", "test-eu-nl"], limit=10)
    assert [r.id for r in both] == [waiting, other_target, decided_by_another]
    assert [r.id for r in await store.awaiting_decision(APPROVER, ["prod-eu-de"], limit=1)] == [waiting]
    assert await store.awaiting_decision(APPROVER, [], limit=10) == []


async def test_revealable_lists_only_armed_unused_unexpired_reveals_of_their_owner(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    now = datetime.now(UTC)
    ids = []
    for _ in range(4):
        request = (await store.create_request_once(make_request(), [])).request
        await store.seal_secret(request.id, "U_REQ", "Pa55-word!")
        ids.append(request.id)
    armed, revealed, expired, sealed_only = ids
    until = now + timedelta(minutes=15)
    assert await finish(store, armed, until)
    token = await finish(store, revealed, until)
    assert token is not None
    assert await finish(store, expired, now - timedelta(seconds=1))
    taken = await store.lease_reveal(token, "U_REQ", now, now + timedelta(seconds=30))
    assert taken.lease is not None
    assert await store.confirm_reveal(token, taken.lease, now)

    found = await store.revealable("U_REQ", ids, now)
    assert list(found) == [armed]
    assert abs((found[armed] - until).total_seconds()) < 1
    assert await store.revealable("U_SOMEONE_ELSE", ids, now) == {}
    assert await store.reveal_token_of(revealed) == token
    assert await store.reveal_token_of(sealed_only) is not None  # sealed: the reveal says it is not armed
    assert await store.reveal_token_of(999_999) is None
