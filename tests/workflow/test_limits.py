"""Abuse limits, counted in the shared store: open requests and submissions per minute per requester,
one open request per server and target; an approver's cancel needs a reason, kept and shown."""

from __future__ import annotations

from typing import Any

from bot.domain import RequestStatus
from bot.workflow import Field, RequestLimits, Submission

from .conftest import APPROVERS, REQUESTER, TARGET_NAME, Env, EnvFactory


def _submission(servers: list[str], requester: str = REQUESTER, **more: Any) -> Submission:
    return Submission(
        target=TARGET_NAME, requester_id=requester, server_refs=servers, reason="INC-9 locked out", **more
    )


async def test_a_server_in_an_open_request_cannot_be_requested_again(env: Env) -> None:
    first = await env.workflow.submit(_submission(["web-01", "web-02"]))
    assert first.request is not None
    again = await env.workflow.submit(_submission(["web-03", "web-02"], requester="UOTHER"))
    assert again.request is None
    error = again.errors[Field.SERVERS]
    assert f"web-02 (request #{first.request.id})" in error
    assert "web-03" not in error
    # Once the first request is settled, the server is free again.
    await env.settle()
    assert (await env.workflow.cancel(first.request.id, REQUESTER)).ok
    await env.settle()
    later = await env.workflow.submit(_submission(["web-03", "web-02"], requester="UOTHER"))
    assert later.request is not None


async def test_open_requests_per_requester_are_capped(make_env: EnvFactory) -> None:
    env = await make_env()
    env.workflow.limits = RequestLimits(max_open_requests=2, max_submissions_per_minute=100)
    for server in ("web-01", "web-02"):
        assert (await env.workflow.submit(_submission([server]))).request is not None
    third = await env.workflow.submit(_submission(["web-03"]))
    assert third.request is None
    assert "2 requests still open" in third.errors[Field.TARGET]
    # Another person is not held back by this one's requests.
    assert (await env.workflow.submit(_submission(["web-03"], requester="UOTHER"))).request is not None


async def test_submissions_per_minute_are_capped_even_when_settled(make_env: EnvFactory) -> None:
    env = await make_env()
    env.workflow.limits = RequestLimits(max_open_requests=100, max_submissions_per_minute=3)
    made = []
    for server in ("web-01", "web-02", "web-03"):
        result = await env.workflow.submit(_submission([server]))
        assert result.request is not None
        made.append(result.request.id)
    await env.settle()
    for request_id in made:  # settled requests still count for the minute they were made in
        await env.workflow.cancel(request_id, REQUESTER)
    fourth = await env.workflow.submit(_submission(["web-04"]))
    assert fourth.request is None
    assert "in the last minute" in fourth.errors[Field.TARGET]
    assert len(await env.store.list_requests(requester_id=REQUESTER)) == 3


async def test_a_flood_of_submissions_makes_only_what_the_limits_allow(env: Env) -> None:
    """40 submissions in a burst (the finding made 39 cards): the defaults let five through."""
    results = [await env.workflow.submit(_submission([f"web-0{1 + i % 4}"])) for i in range(40)]
    made = [r.request for r in results if r.request is not None]
    assert len(made) == 4  # four distinct servers; the fifth and later repeat one of them or the limit
    assert len(await env.store.list_requests(requester_id=REQUESTER, limit=100)) == 4


async def test_an_approver_cancels_only_with_a_reason_which_is_kept_and_shown(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    refused = await env.workflow.cancel(request.id, APPROVERS[0])
    assert not refused.ok
    assert "say why" in refused.message
    assert await env.status(request.id) == RequestStatus.PENDING
    done = await env.workflow.cancel(request.id, APPROVERS[0], "  duplicate of INC-8  ")
    assert done.ok
    await env.settle()
    stored = await env.store.get_request(request.id)
    assert stored is not None
    assert stored.status == RequestStatus.CANCELLED
    assert stored.outcome_message == "Cancelled by an approver: duplicate of INC-8"
    audit = [a for a in await env.store.audit(request.id) if a.event == "cancelled"]
    assert [(a.actor, (a.detail or {}).get("note")) for a in audit] == [
        (APPROVERS[0], "Cancelled by an approver: duplicate of INC-8")
    ]
    [notice] = [
        n for n in env.notifier.notices if n.kind == "request_updated" and n.view.request.id == request.id
    ]
    assert notice.event is not None
    assert notice.event.note == "Cancelled by an approver: duplicate of INC-8"
