"""The Home tab's blocks at their fullest: within a view's limits, every outside text escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from slack_helpers import block_texts, make_view

from bot.domain import BreakGlassReview, RequestStatus, ReviewState, ServerPhase
from bot.simulator.slack import limits
from bot.slack import ids
from bot.slack.blocks.home import home_view
from bot.workflow import HomeView, OwnRequest

HOSTILE = "<!here> INC-1 `rm` *bold* <https://evil.example|click>\n> forged quote " + "x" * 3000


def full_home() -> HomeView:
    waiting = [
        make_view(20, request_id=i, reason=HOSTILE, name=lambda n: f"<@U0BOSS> web-{n:04d}" + "y" * 200)
        for i in range(1, 16)
    ]
    mine = [
        OwnRequest(
            make_view(
                40, request_id=100 + i, status=RequestStatus.FAILED, phase=ServerPhase.FAILED, outcome=HOSTILE
            ),
            reveal_until=datetime.now(UTC) + timedelta(minutes=5),
        )
        for i in range(10)
    ]
    awaiting = BreakGlassReview(ReviewState.AWAITING)
    reviewing = [
        replace(view, request=replace(view.request, break_glass=awaiting))
        for view in (
            make_view(40, request_id=200 + i, status=RequestStatus.SUCCEEDED, reason=HOSTILE)
            for i in range(10)
        )
    ]
    return HomeView(
        "UDEMOAPPROVER1",
        waiting,
        True,
        mine,
        problem="Slack did not say who is in @sre-leads",
        reviewing=reviewing,
    )


def test_the_fullest_home_tab_is_within_slacks_limits() -> None:
    view = home_view(full_home(), notice="Approved. Request #3 is running now.").to_dict()
    assert view["type"] == "home"
    assert len(view["blocks"]) <= limits.VIEW_BLOCKS
    assert limits.view_errors(view) == []  # the fake Slack's own copy of the limits
    text = block_texts(view["blocks"])
    assert "More requests wait on you" in text
    assert "Approved. Request #3 is running now." in text
    assert "Some requests may be missing here" in text
    assert "Break-glass runs to review" in text
    assert "#209" in text, "the last run to review fits"
    assert "#109" in text, "and so does the last own request, after it"


def test_outside_text_on_the_home_tab_is_escaped() -> None:
    view = home_view(full_home()).to_dict()
    text = block_texts(view["blocks"])
    assert "<!here>" not in text
    assert "<@U0BOSS>" not in text
    assert "<https://evil.example" not in text
    assert "&lt;!here&gt;" in text
    assert "\n> forged" not in text


def test_buttons_carry_only_request_numbers() -> None:
    view = home_view(full_home()).to_dict()
    values = {
        str(e.get("action_id")): str(e.get("value") or "")
        for b in view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict) and e.get("type") == "button"
    }
    assert set(values) >= {
        ids.HOME_APPROVE_ACTION,
        ids.DENY_ACTION,
        ids.HOME_ACKNOWLEDGE_ACTION,
        ids.FLAG_ACTION,
        ids.HOME_REVEAL_ACTION,
        ids.AGAIN_ACTION,
    }
    assert all(value.isdigit() or value == "" for value in values.values())


def test_a_break_glass_run_says_so_with_its_review() -> None:
    view = make_view(2, request_id=9, status=RequestStatus.SUCCEEDED)
    flagged = BreakGlassReview(ReviewState.DISPUTED, "UDEMOAPPROVER2", "<!channel> no incident")
    request = replace(view.request, break_glass=flagged)
    home = HomeView("UDEMOREQUESTER", [], False, [OwnRequest(replace(view, request=request))])
    text = block_texts(home_view(home).to_dict()["blocks"])
    assert "Break-glass: run without approval; flagged by <@UDEMOAPPROVER2>: `&lt;!channel&gt;" in text
