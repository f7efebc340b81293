"""Who may request and who may approve: user IDs, @groups through the directory, failing closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Target
from bot.domain import PasswordMode, RebootMode, RequestRecord, RequestStatus
from bot.workflow import DirectoryUnavailable, Policy

from .conftest import DictDirectory


def _request(requester: str = "UREQ1", target: str = "prod-eu-de") -> RequestRecord:
    now = datetime.now(UTC)
    return RequestRecord(
        id=7,
        target=target,
        requester_id=requester,
        reason="INC-1",
        password_mode=PasswordMode.SHARED,
        reboot=RebootMode.NONE,
        approvals_required=1,
        status=RequestStatus.PENDING,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
    )


def _policy(target: Target, directory: DictDirectory | None = None) -> Policy:
    return Policy({target.name: target}, directory or DictDirectory())


async def test_empty_requesters_means_anyone(make_target: Callable[..., Target]) -> None:
    policy = _policy(make_target(requesters=[]))
    assert await policy.may_request("UANYONE", "prod-eu-de")
    assert not await policy.may_request("UANYONE", "no-such-target")
    assert await policy.requestable_targets("UANYONE") == ["prod-eu-de"]


async def test_requesters_by_user_id(make_target: Callable[..., Target]) -> None:
    policy = _policy(make_target(requesters=["UONCALL1"]))
    assert await policy.may_request("UONCALL1", "prod-eu-de")
    assert not await policy.may_request("UOTHER", "prod-eu-de")
    assert await policy.requestable_targets("UOTHER") == []


async def test_requesters_by_group_use_the_directory(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"oncall": frozenset({"UMEMBER"})})
    policy = _policy(make_target(requesters=["@oncall"]), directory)
    assert await policy.may_request("UMEMBER", "prod-eu-de")
    assert not await policy.may_request("UOUTSIDER", "prod-eu-de")
    assert directory.lookups == ["oncall", "oncall"]


async def test_approvers_by_id_and_group(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"})})
    policy = _policy(make_target(approvers=["@sre-leads", "UBOSS"]), directory)
    assert await policy.may_approve("UBOSS", "prod-eu-de")
    assert await policy.may_approve("ULEAD", "prod-eu-de")
    assert not await policy.may_approve("UREQ1", "prod-eu-de")
    assert not await policy.may_approve("UBOSS", "other-target")
    assert await policy.refuse_decision("ULEAD", _request()) is None
    refusal = await policy.refuse_decision("UNOBODY", _request())
    assert refusal is not None
    assert "not an approver" in refusal
    assert "#7" in refusal


async def test_requester_cannot_decide_own_request_even_as_approver(
    make_target: Callable[..., Target],
) -> None:
    policy = _policy(make_target(approvers=["UBOSS", "UREQ1"]))
    assert await policy.may_approve("UREQ1", "prod-eu-de")
    refusal = await policy.refuse_decision("UREQ1", _request(requester="UREQ1"))
    assert refusal == "You cannot approve or deny your own request #7."


async def test_directory_failure_fails_closed(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"}), "oncall": frozenset({"UMEMBER"})})
    directory.fail = True
    policy = _policy(make_target(requesters=["@oncall"], approvers=["@sre-leads", "UBOSS"]), directory)
    # Closed, and honest: "cannot tell" (the operator must fix the directory), never "not allowed".
    with pytest.raises(DirectoryUnavailable, match="sre-leads"):
        await policy.may_approve("ULEAD", "prod-eu-de")
    with pytest.raises(DirectoryUnavailable, match="oncall"):
        await policy.may_request("UMEMBER", "prod-eu-de")
    with pytest.raises(DirectoryUnavailable):
        await policy.refuse_decision("ULEAD", _request())
    # Listed user IDs still work: they need no lookup.
    assert await policy.may_approve("UBOSS", "prod-eu-de")


async def test_cancel_by_requester_or_approver_only(make_target: Callable[..., Target]) -> None:
    policy = _policy(make_target())
    assert await policy.refuse_cancel("UREQ1", _request()) is None
    assert await policy.refuse_cancel("UAPP1", _request()) is None
    refusal = await policy.refuse_cancel("USTRANGER", _request())
    assert refusal is not None
    assert "#7" in refusal
