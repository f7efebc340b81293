"""The workspace the fake Slack's API and request tests share: three people, a group, an approvers channel,
and a card with Approve and Deny buttons."""

from __future__ import annotations

from support.clock import ManualClock

from bot.simulator.slack import FakeSlack, SlackUser, SlackUsergroup
from bot.simulator.slack.scopes import manifest_bot_scopes

ANN, BOB, CAROL = "U0ANN", "U0BOB", "U0CAROL"
APPROVERS = "C0APPROVERS"

CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Request #12 by <@U0ANN>"}},
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Server* web-1"}]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "expires in 1 h"}]},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "12",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "deny",
                "value": "12",
                "text": {"type": "plain_text", "text": "Deny"},
            },
        ],
    },
]


def example_slack(clock: ManualClock) -> FakeSlack:
    """Ann, Bob and Carol (Bob and Carol are @sre-leads), the approvers channel; not started."""
    return FakeSlack(
        users=[
            SlackUser(ANN, "ann", "Ann Example", email="ann@example.com"),
            SlackUser(BOB, "bob", "Bob Example"),
            SlackUser(CAROL, "carol"),
        ],
        usergroups=[SlackUsergroup("S0LEADS", "sre-leads", [BOB, CAROL])],
        channels={APPROVERS: "approvers"},
        clock=clock,
        # The manifest's scopes plus three the API tests use and the bot does not.
        scopes=(*manifest_bot_scopes(), "reactions:write", "users:read", "users:read.email"),
    )
