"""Who may request and who may approve: user IDs, @groups through the directory, failing closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, Target
from bot.domain import PasswordMode, RebootMode, RequestRecord, RequestStatus
from bot.workflow import MembershipUnknown, Policy

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


async def _policy(target: Target, directory: DictDirectory | None = None) -> Policy:
    policy = Policy({target.name: target}, directory or DictDirectory())
    await policy.pin_groups()
    return policy


async def test_empty_requesters_means_anyone(make_target: Callable[..., Target]) -> None:
    policy = await _policy(make_target(requesters=[]))
    assert await policy.may_request("UANYONE", "prod-eu-de")
    assert not await policy.may_request("UANYONE", "no-such-target")
    assert await policy.requestable_targets("UANYONE") == ["prod-eu-de"]


async def test_requesters_by_user_id(make_target: Callable[..., Target]) -> None:
    policy = await _policy(make_target(requesters=["UONCALL1"]))
    assert await policy.may_request("UONCALL1", "prod-eu-de")
    assert not await policy.may_request("UOTHER", "prod-eu-de")
    assert await policy.requestable_targets("UOTHER") == []


async def test_requesters_by_group_use_the_directory(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"oncall": frozenset({"UMEMBER"})})
    policy = await _policy(make_target(requesters=["@oncall"]), directory)
    assert await policy.may_request("UMEMBER", "prod-eu-de")
    assert not await policy.may_request("UOUTSIDER", "prod-eu-de")
    assert directory.lookups == ["oncall", "oncall"]


async def test_approvers_by_id_and_group(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"})})
    policy = await _policy(make_target(approvers=["@sre-leads", "UBOSS"]), directory)
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
    policy = await _policy(make_target(approvers=["UBOSS", "UREQ1"]))
    assert await policy.may_approve("UREQ1", "prod-eu-de")
    refusal = await policy.refuse_decision("UREQ1", _request(requester="UREQ1"))
    assert refusal == "You cannot approve or deny your own request #7."


async def test_directory_failure_refuses_with_a_retry_message(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"}), "oncall": frozenset({"UMEMBER"})})
    policy = await _policy(make_target(requesters=["@oncall"], approvers=["@sre-leads", "UBOSS"]), directory)
    directory.fail = True
    with pytest.raises(MembershipUnknown):
        await policy.may_approve("ULEAD", "prod-eu-de")
    with pytest.raises(MembershipUnknown):
        await policy.may_request("UMEMBER", "prod-eu-de")
    refusal = await policy.refuse_decision("ULEAD", _request())
    assert refusal is not None
    assert "try again" in refusal.lower()
    assert "nothing was changed" in refusal
    cancel_refusal = await policy.refuse_cancel("ULEAD", _request())
    assert cancel_refusal is not None
    assert "try again" in cancel_refusal.lower()
    # Listed user IDs still work: they need no lookup; so does the requester's own cancel.
    assert await policy.may_approve("UBOSS", "prod-eu-de")
    assert await policy.refuse_cancel("UREQ1", _request()) is None


async def test_a_member_removed_is_refused_at_once(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"})})
    policy = await _policy(make_target(approvers=["@sre-leads", "UBOSS"]), directory)
    assert await policy.refuse_decision("ULEAD", _request()) is None
    directory.groups["sre-leads"] = frozenset()
    refusal = await policy.refuse_decision("ULEAD", _request())
    assert refusal is not None
    assert "not an approver" in refusal


async def test_groups_are_pinned_by_id_at_start(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"}), "oncall": frozenset()})
    policy = Policy(
        {"prod-eu-de": make_target(requesters=["@oncall"], approvers=["@sre-leads", "SONCALL"])}, directory
    )
    assert await policy.pin_groups() == {"oncall": "SONCALL", "sre-leads": "SSRELEADS"}
    # A group later renamed to the pinned handle is not the pinned group: its ID is what counts.
    directory.ids["sre-leads-new"] = "SSRELEADS"
    directory.groups["sre-leads-new"] = directory.groups.pop("sre-leads")
    directory.ids["sre-leads"] = "SOTHERGROUP"
    directory.groups["sre-leads"] = frozenset({"UINTRUDER"})
    assert not await policy.may_approve("UINTRUDER", "prod-eu-de")
    assert await policy.may_approve("ULEAD", "prod-eu-de")
    assert not await policy.may_approve("UINTRUDER", "prod-eu-de")


async def test_an_unknown_handle_or_id_stops_start_up_with_its_fix(
    make_target: Callable[..., Target],
) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"})})
    policy = Policy(
        {"prod-eu-de": make_target(requesters=["@ghost-oncall"], approvers=["@ghost-leads", "SNOSUCH"])},
        directory,
    )
    with pytest.raises(ConfigError) as caught:
        await policy.pin_groups()
    problems = caught.value.problems
    assert len(problems) == 3
    assert any("requesters" in p and "@ghost-oncall" in p and "write the ID" in p for p in problems)
    assert any("approvers" in p and "@ghost-leads" in p and "create it first" in p for p in problems)
    assert any("SNOSUCH" in p and "copy the group's ID" in p for p in problems)


async def test_an_unpinned_handle_is_never_trusted(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory({"sre-leads": frozenset({"ULEAD"})})
    policy = Policy({"prod-eu-de": make_target(approvers=["@sre-leads", "UBOSS"])}, directory)
    refusal = await policy.refuse_decision("ULEAD", _request())
    assert refusal is not None
    assert "try again" in refusal.lower()
    assert directory.lookups == []


async def test_group_changed_reaches_the_directory(make_target: Callable[..., Target]) -> None:
    directory = DictDirectory()
    policy = await _policy(make_target(), directory)
    policy.group_changed("SABC")
    assert directory.forgotten == ["SABC"]


async def test_cancel_by_requester_or_approver_only(make_target: Callable[..., Target]) -> None:
    policy = await _policy(make_target())
    assert await policy.refuse_cancel("UREQ1", _request()) is None
    assert await policy.refuse_cancel("UAPP1", _request()) is None
    refusal = await policy.refuse_cancel("USTRANGER", _request())
    assert refusal is not None
    assert "#7" in refusal
