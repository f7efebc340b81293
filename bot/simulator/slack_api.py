"""The fake Slack's former single module, kept so existing imports work: see `bot.simulator.slack`."""

from bot.simulator.slack import (
    FAKE_APP_TOKEN,
    FAKE_BOT_TOKEN,
    EphemeralMessage,
    FakeSlack,
    MethodError,
    SignedRequest,
    SlackCall,
    SlackRequests,
    SlackUser,
    SlackUsergroup,
    StoredMessage,
    StoredView,
    render_blocks,
    render_message,
    render_view,
)

__all__ = [
    "FAKE_APP_TOKEN",
    "FAKE_BOT_TOKEN",
    "EphemeralMessage",
    "FakeSlack",
    "MethodError",
    "SignedRequest",
    "SlackCall",
    "SlackRequests",
    "SlackUser",
    "SlackUsergroup",
    "StoredMessage",
    "StoredView",
    "render_blocks",
    "render_message",
    "render_view",
]
