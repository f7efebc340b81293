"""A fake Slack as strict as Slack, so the demo and every test run the real bot over real HTTP.

`FakeSlack` (server) answers the Web API methods the bot calls (chat, views, directory), refusing as
Slack refuses: workspace state (state, workspace: channels, membership, archive, deactivated members),
token and scopes (scopes), Block Kit limits (limits), rate-limit tiers (rate_limits), scripted faults
(faults); it keeps calls (recording), messages (message_store) and views (view_store), and applies
the bot's answers (answers); Socket Mode lives in socket_mode. `SlackRequests` (requests) builds what
Slack sends to the bot, each a `SignedRequest` (signed), and posts it (delivery). Facts: docs.slack.dev
and /work/shared/reference/slack-platform.md.
"""

from bot.simulator.slack.faults import SlackFault
from bot.simulator.slack.records import (
    EphemeralMessage,
    JsonDict,
    MethodError,
    ShownError,
    SlackCall,
    StoredMessage,
    StoredView,
)
from bot.simulator.slack.render import render_blocks, render_message, render_view
from bot.simulator.slack.requests import SlackRequests
from bot.simulator.slack.server import FakeSlack
from bot.simulator.slack.signed import SignedRequest
from bot.simulator.slack.state import FAKE_APP_TOKEN, FAKE_BOT_TOKEN, GENERAL_CHANNEL, TOKEN_ERRORS
from bot.simulator.slack.workspace import SlackChannel, SlackUser, SlackUsergroup

__all__ = [
    "FAKE_APP_TOKEN",
    "FAKE_BOT_TOKEN",
    "GENERAL_CHANNEL",
    "TOKEN_ERRORS",
    "EphemeralMessage",
    "FakeSlack",
    "JsonDict",
    "MethodError",
    "ShownError",
    "SignedRequest",
    "SlackCall",
    "SlackChannel",
    "SlackFault",
    "SlackRequests",
    "SlackUser",
    "SlackUsergroup",
    "StoredMessage",
    "StoredView",
    "render_blocks",
    "render_message",
    "render_view",
]
