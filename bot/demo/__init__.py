"""The demo and the one driver of people's moves: the bot against the fake Slack and the fake cloud.

`World` (world.py) starts the simulator, the fake Slack and the bot in this process; `People`
(people.py) plays what people do in Slack against any bot over HTTP, reading Slack's side through
`SlackSide` (slack_side.py), in this process or another; `run_demo` (script.py) narrates one request.
Who takes part and the bot's environment are in cast.py, what forms and buttons carry in forms.py.
"""

from bot.demo.cast import (
    APPROVERS,
    APPROVERS_CHANNEL,
    DEMO_TARGETS,
    INCIDENT_COMMANDER,
    REQUESTER,
    SIGNING_SECRET,
    demo_environment,
    demo_users,
)
from bot.demo.forms import button_value, deny_values, submission_values
from bot.demo.people import People, Refused
from bot.demo.script import NEXT_STEPS, indented, run_demo
from bot.demo.slack_side import (
    CallMatch,
    LocalSlack,
    SlackSide,
    latest_message,
    open_view_payload,
    parsed_view,
)
from bot.demo.world import World

__all__ = [
    "APPROVERS",
    "APPROVERS_CHANNEL",
    "DEMO_TARGETS",
    "INCIDENT_COMMANDER",
    "NEXT_STEPS",
    "REQUESTER",
    "SIGNING_SECRET",
    "CallMatch",
    "LocalSlack",
    "People",
    "Refused",
    "SlackSide",
    "World",
    "button_value",
    "demo_environment",
    "demo_users",
    "deny_values",
    "indented",
    "latest_message",
    "open_view_payload",
    "parsed_view",
    "run_demo",
    "submission_values",
]
