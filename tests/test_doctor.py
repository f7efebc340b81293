"""`doctor` checks the workspace over real HTTP against the fake Slack: every problem with its fix, exit 1.

The fake Slack answers as Slack does: scopes in `x-oauth-scopes`, `conversations.info` with `is_member`
and `is_archived`, `users.info` with `deleted`, `missing_scope` when the token lacks a scope.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot import doctor
from bot.config import AppConfig, load_app_config
from bot.demo import APPROVERS, APPROVERS_CHANNEL, DEMO_TARGETS, REQUESTER
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Fleet, Simulator
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack, SlackUser, SlackUsergroup

AUDIT = "C0AUDIT"
LEADS = "S0LEADS"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(Fleet.generate(3, seed=1))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A workspace where everything the demo targets name is in order."""
    fake = FakeSlack(
        users=[
            SlackUser(REQUESTER, "alice"),
            SlackUser(APPROVERS[0], "bob"),
            SlackUser(APPROVERS[1], "carol"),
            SlackUser("UDEMOIC", "ivy"),  # demo-aksk's break_glass.allowed
        ],
        channels={APPROVERS_CHANNEL: "ecs-approvals", AUDIT: "ecs-audit"},
        usergroups=[SlackUsergroup(LEADS, "sre-leads", [APPROVERS[0]])],
    )
    async with fake:
        yield fake


def targets(tmp_path: Path, **replace: str) -> Path:
    """The demo targets with lines replaced (`approvers=...` applies to every target)."""
    text = DEMO_TARGETS.read_text()
    for key, value in replace.items():
        text = "\n".join(
            f"{line[: len(line) - len(line.lstrip())]}{key}: {value}"
            if line.strip().startswith(f"{key}:")
            else line
            for line in text.splitlines()
        )
    path = tmp_path / "targets.yml"
    path.write_text(text + "\n")
    return path


def config(
    sim: Simulator, slack: FakeSlack, tmp_path: Path, config_file: Path | None = None, **env: str
) -> AppConfig:
    return load_app_config(
        {
            "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "BOT_MODE": "http",
            "BOT_CONFIG": str(config_file or DEMO_TARGETS),
            "BOT_SECRET_KEY": Fernet.generate_key().decode(),
            "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
            "BOT_SIMULATOR_URL": sim.url,
            "DEMO_ACCESS_KEY": DEMO_ACCESS_KEY,
            "DEMO_SECRET_KEY": DEMO_SECRET_KEY,
            "DEMO_IAM_USER": DEMO_USER.name,
            "DEMO_IAM_PASSWORD": DEMO_USER.password,
            **env,
        },
        register_secrets=False,
    )


async def run(app_config: AppConfig) -> tuple[int, str]:
    lines: list[str] = []
    code = await doctor.run_doctor(app_config, lines.append)
    return code, "\n".join(lines)


def line_of(out: str, check: str) -> str:
    """The line of `check` with the problem lines under it."""
    rest = out[out.index(check) :].split("\n")
    block = [rest[0]]
    for line in rest[1:]:
        if not line.startswith("    - "):
            break
        block.append(line)
    return "\n".join(block)


async def test_all_good(sim: Simulator, slack: FakeSlack, tmp_path: Path) -> None:
    file = targets(
        tmp_path, approvers=f'["@sre-leads", {APPROVERS[0]}, {APPROVERS[1]}]', requesters=f"[{REQUESTER}]"
    )
    code, out = await run(config(sim, slack, tmp_path, file, BOT_AUDIT_CHANNEL=AUDIT))
    assert code == 0, out
    assert "slack: scopes granted (auth.test) (limit 6 s): OK" in out
    assert "usergroups:read" in line_of(out, "slack: scopes granted")
    assert "slack: channels (conversations.info) (limit 6 s): OK in" in out
    assert f"the bot is a member of {AUDIT}, {APPROVERS_CHANNEL}; none is archived" in out
    assert "4 person(s) named, each active in the workspace" in out  # with the break-glass IC
    assert f"@sre-leads = {LEADS}" in out
    assert "FAILED" not in out
    asked = {c.args.get("user") for c in slack.calls("users.info")}
    assert asked == {REQUESTER, *APPROVERS, "UDEMOIC"}


async def test_a_missing_scope_is_named_with_why_and_how(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.scopes = slack.scopes - {"usergroups:read", "groups:read"}
    file = targets(tmp_path, approvers=f'["@sre-leads", {APPROVERS[0]}]')
    code, out = await run(config(sim, slack, tmp_path, file))
    assert code == 1
    block = line_of(out, "slack: scopes granted")
    assert "FAILED" in block
    assert "2 problem(s)" in block
    assert "the token lacks `usergroups:read`" in block
    assert "target demo-aksk, demo-iam names user groups" in block
    assert "the token lacks `groups:read`" in block
    assert block.count("reinstall the app") == 2
    # The group look-up itself is refused as Slack refuses it; never "no such group".
    assert "missing_scope" in line_of(out, "slack: user groups") or "usergroups:read" in line_of(
        out, "slack: user groups"
    )


async def test_usergroups_read_is_not_needed_when_no_target_names_a_group(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.scopes = slack.scopes - {"usergroups:read"}
    code, out = await run(config(sim, slack, tmp_path))
    assert code == 0, out
    assert "not granted but unused by this configuration: usergroups:read" in line_of(
        out, "slack: scopes granted"
    )
    assert "slack: user groups" not in out


async def test_more_scopes_than_needed_are_pointed_out_but_pass(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.scopes = slack.scopes | {"chat:write.public"}
    code, out = await run(config(sim, slack, tmp_path))
    assert code == 0, out
    assert "granted beyond what the bot uses (could be removed): chat:write.public" in out


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        (
            lambda s: s.remove_from_channel(APPROVERS_CHANNEL, s.bot_user_id),
            f"#ecs-approvals ({APPROVERS_CHANNEL}, approvers channel of demo-aksk and approvers channel of "
            f"demo-iam): the bot is not a member, so it cannot post there: type /invite @ecs-reset-bot in "
            "#ecs-approvals",
        ),
        (
            lambda s: s.archive_channel(APPROVERS_CHANNEL),
            f"#ecs-approvals ({APPROVERS_CHANNEL}, approvers channel of demo-aksk and approvers channel of "
            "demo-iam) is archived: unarchive it, or name another channel",
        ),
        (
            lambda s: s.channels.pop(APPROVERS_CHANNEL),
            f"{APPROVERS_CHANNEL} (approvers channel of demo-aksk and approvers channel of demo-iam): "
            "no such channel, or a private channel the bot is not in: invite the bot there "
            "(/invite @ecs-reset-bot)",
        ),
        (
            lambda s: s.add_channel(
                APPROVERS_CHANNEL, "secret-approvals", members=[], bot_member=False, is_private=True
            ),
            "no such channel, or a private channel the bot is not in",
        ),
    ],
    ids=["not-a-member", "archived", "no-such-channel", "private-without-the-bot"],
)
async def test_an_approvers_channel_the_bot_cannot_use(
    sim: Simulator, slack: FakeSlack, tmp_path: Path, arrange: object, expected: str
) -> None:
    arrange(slack)  # type: ignore[operator]
    code, out = await run(config(sim, slack, tmp_path, BOT_AUDIT_CHANNEL=AUDIT))
    assert code == 1
    block = line_of(out, "slack: channels (conversations.info)")
    assert "FAILED" in block, block
    assert "1 problem(s)" in block, block
    assert expected in block
    assert AUDIT not in block  # the audit channel is in order
    assert "1 of " in out.splitlines()[-1]


async def test_the_audit_channel_is_checked_too(sim: Simulator, slack: FakeSlack, tmp_path: Path) -> None:
    slack.archive_channel(AUDIT)
    code, out = await run(config(sim, slack, tmp_path, BOT_AUDIT_CHANNEL=AUDIT))
    assert code == 1
    assert f"#ecs-audit ({AUDIT}, audit channel (BOT_AUDIT_CHANNEL)) is archived" in line_of(
        out, "slack: channels"
    )


async def test_channels_without_the_read_scope_say_which_scope(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.scopes = slack.scopes - {"channels:read", "groups:read"}
    code, out = await run(config(sim, slack, tmp_path))
    assert code == 1
    assert "could not be checked, the token lacks `channels:read`" in line_of(out, "slack: channels")


async def test_people_who_do_not_exist_are_deactivated_or_bots(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.deactivate_user(APPROVERS[1])
    slack.add_user("UROBOT", "robot", is_bot=True)
    file = targets(tmp_path, approvers=f"[{APPROVERS[0]}, {APPROVERS[1]}, UGHOST, UROBOT]")
    code, out = await run(config(sim, slack, tmp_path, file))
    assert code == 1
    block = line_of(out, "slack: people named in the targets (users.info)")
    assert "3 problem(s)" in block
    assert f"{APPROVERS[1]} (@carol) (approvers of demo-aksk, approvers of demo-iam) is deactivated" in block
    assert "UGHOST (approvers of demo-aksk, approvers of demo-iam): no such user in this workspace" in block
    assert "UROBOT (@robot) (approvers of demo-aksk, approvers of demo-iam) is a bot" in block
    assert APPROVERS[0] not in block


async def test_unknown_group_handles_and_ids(sim: Simulator, slack: FakeSlack, tmp_path: Path) -> None:
    file = targets(tmp_path, approvers=f'["@ghost-leads", S0NOSUCH, {APPROVERS[0]}]', approvals_required="1")
    code, out = await run(config(sim, slack, tmp_path, file))
    assert code == 1
    block = line_of(out, "slack: user groups")
    assert "no user group @ghost-leads" in block
    assert "no user group S0NOSUCH" in block
    # The route is said on the check's line, not after the last problem of its listing.
    head, *problems = block.splitlines()
    assert head.endswith(f"4 problem(s) ({slack.api_url.rstrip('/')} direct, no TLS (http)):"), head
    assert all("direct, no TLS" not in p for p in problems), problems


async def test_a_refused_token_fails_once_and_the_rest_say_not_checked(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.revoke_token()
    code, out = await run(config(sim, slack, tmp_path))
    assert code == 1
    assert "token_revoked" in line_of(out, "slack: SLACK_BOT_TOKEN (auth.test)")
    for check in ("slack: scopes granted", "slack: channels", "slack: people named"):
        assert "not checked: the bot token check failed" in line_of(out, check)
    assert len(slack.calls("auth.test")) == 1, "one auth.test serves every check"
    assert "FAILED" not in line_of(out, "slack: scopes granted"), "not checked is not a failure"
    summary = r"\n(\d) of \d+ check\(s\) failed, 3 not checked \(each needs one that failed\)"
    assert re.search(summary, out), out
    assert not slack.calls("conversations.info")


async def test_a_silent_slack_ends_each_check_at_its_deadline(
    sim: Simulator, slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "SLACK_DEADLINE_S", 1.0)
    slack.timeout("conversations.info", times=None, hold_s=30)
    slack.timeout("users.info", times=None, hold_s=30)
    started = time.monotonic()
    code, out = await run(config(sim, slack, tmp_path))
    assert time.monotonic() - started < 10, "doctor must never hang"
    assert code == 1
    assert "no answer within 2 s (timeout)" in line_of(
        out, "slack: channels (conversations.info) (limit 2 s): FAILED"
    )
    assert "no answer within 2 s (timeout)" in line_of(out, "slack: people named")
    assert "slack: scopes granted (auth.test) (limit 2 s): OK" in out


async def test_the_database_is_checked_read_only(sim: Simulator, slack: FakeSlack, tmp_path: Path) -> None:
    """A SQLite file not made yet is fine (doctor does not make it); then as `run` left it; then a schema
    a newer bot migrated, which this version must not touch."""
    from bot.store import Store

    app_config = config(sim, slack, tmp_path)
    code, out = await run(app_config)
    assert code == 0, out
    assert "database (BOT_DATABASE_URL) (limit 5 s): OK" in out
    assert "not created yet; `run` creates it" in line_of(out, "database (BOT_DATABASE_URL)")
    assert not (tmp_path / "db.sqlite3").exists(), "doctor reads only"

    keys = [k.get_secret_value() for k in app_config.settings.secret_keys]
    store = await Store.open(app_config.settings.database_url, secret_keys=keys)
    await store.migrate()
    code, out = await run(app_config)
    assert code == 0, out
    assert "answers; schema up to date" in line_of(out, "database (BOT_DATABASE_URL)")

    async with store._begin(write=True) as conn:  # what a newer version of the bot leaves behind
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    await store.close()
    code, out = await run(app_config)
    assert code == 1
    line = line_of(out, "database (BOT_DATABASE_URL)")
    assert "FAILED" in line
    assert "is newer than this version of the bot knows" in line


async def test_a_database_that_does_not_answer_fails_its_check_with_the_cause(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    from support.processes import free_port

    url = f"postgresql+asyncpg://bot:pg-password-canary@127.0.0.1:{free_port()}/bot"
    code, out = await run(config(sim, slack, tmp_path, BOT_DATABASE_URL=url))
    assert code == 1
    line = line_of(out, "database (BOT_DATABASE_URL)")
    assert "FAILED" in line
    assert "the database postgresql (127.0.0.1:" in line
    assert "is unavailable (ConnectionRefusedError" in line
    assert "check BOT_DATABASE_URL and that the server is up" in line
    assert "is unavailable: database" not in line, "said once"
    assert "pg-password-canary" not in out


async def test_an_endpoint_shared_by_ecs_and_iam_is_described_once(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    """The demo's password target reaches ECS and IAM at one address: its route is said once."""
    code, out = await run(config(sim, slack, tmp_path))
    assert code == 0, out
    line = line_of(out, "target demo-iam")
    assert line.count(sim.url.rstrip("/")) == 1, line


async def test_the_people_and_groups_allowed_to_break_glass_are_checked_too(
    sim: Simulator, slack: FakeSlack, tmp_path: Path
) -> None:
    """`run` pins `break_glass.allowed` groups at start and refuses an unknown one: doctor must say so
    first; and a person named only there must exist like any approver."""
    path = targets(tmp_path, allowed='[UNOSUCHPERSON9, "@nosuchic"]')
    code, out = await run(config(sim, slack, tmp_path, config_file=path))
    assert code == 1, out
    assert "UNOSUCHPERSON9 (break_glass.allowed of demo-aksk)" in line_of(out, "slack: people named")
    assert "@nosuchic" in line_of(out, "slack: user groups")
