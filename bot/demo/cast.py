"""Who is in the demo's workspace and how the bot is told where the fakes are: one place for both, so
the demo, the tests and the benchmarks' fakes (bench/fakes_child.py) meet the same people."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER
from bot.simulator.slack import FAKE_BOT_TOKEN, SlackUser

DEMO_TARGETS = Path(__file__).parent.parent / "demo_targets.yml"
"""The demo's targets file; it stays at bot/demo_targets.yml, where the README and the image name it."""
SIGNING_SECRET = "demo-signing-secret"
REQUESTER = "UDEMOREQUESTER"
APPROVERS = ("UDEMOAPPROVER1", "UDEMOAPPROVER2")
APPROVERS_CHANNEL = "CDEMOAPPROVALS"
INCIDENT_COMMANDER = "UDEMOIC"
"""May break glass on demo-aksk (its `break_glass.allowed`)."""


def demo_users(*, incident_commander: bool = True) -> list[SlackUser]:
    """The workspace's members: the requester, the two approvers and (unless left out) the incident
    commander."""
    users = [
        SlackUser(REQUESTER, "alice", "Alice (on call)"),
        SlackUser(APPROVERS[0], "bob", "Bob (lead)"),
        SlackUser(APPROVERS[1], "carol", "Carol (security)"),
    ]
    if incident_commander:
        users.append(SlackUser(INCIDENT_COMMANDER, "erin", "Erin (incident commander)"))
    return users


def demo_environment(sim_url: str, slack_api_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Everything the bot reads from the environment, pointing at the local fakes."""
    return {
        "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "BOT_MODE": "http",
        "BOT_HTTP_HOST": "127.0.0.1",
        "BOT_CONFIG": str(DEMO_TARGETS),
        "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'demo.sqlite3'}",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "BOT_SIMULATOR_URL": sim_url,
        "DEMO_ACCESS_KEY": DEMO_ACCESS_KEY,
        "DEMO_SECRET_KEY": DEMO_SECRET_KEY,
        "DEMO_IAM_USER": DEMO_USER.name,
        "DEMO_IAM_PASSWORD": DEMO_USER.password,
        **extra,
    }
