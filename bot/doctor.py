"""`python -m bot doctor`: every outside dependency checked once, read-only, each within a hard deadline.

A check is a name, a deadline and a coroutine that returns what it found or raises; all run at once, so
the whole doctor takes as long as its slowest deadline. Each line shows the deadline, the time taken and,
on failure, the cause in words (timeout, refused, TLS, HTTP status, Slack's error) and what to change.
Beyond the tokens, the workspace is checked for what the configuration needs: the token's scopes, the
bot's membership of every approvers and audit channel, and every person and user group the targets name.
More checks are added to `checks()`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.config import AppConfig, Target
from bot.ecs import EcsError, RetryPolicy
from bot.outbound import describe_route, new_session
from bot.probes import (
    BotTokenCheck,
    Refused,
    Unreachable,
    cause_of,
    check_app_token,
    check_bot_token,
    token_advice,
)
from bot.slack.client import WatchedWebClient
from bot.slack.inspection import WorkspaceProblems, check_channels, check_people, check_scopes

__all__ = ["Check", "Outcome", "checks", "run_checks", "run_doctor"]

SLACK_DEADLINE_S = 5.0
CLOUD_DEADLINE_S = 10.0
DATABASE_DEADLINE_S = 5.0
AFTER_TOKEN_S = 1.0
"""The workspace checks wait for the token's answer first, so they get this much longer than it: a silent
Slack ends the token check first and they say "not checked" instead of timing out beside it."""


@dataclass(frozen=True)
class Check:
    """One thing to verify: `run` returns a short description of what it found, or raises."""

    name: str
    deadline_s: float
    run: Callable[[], Awaitable[str]]
    endpoints: tuple[str, ...] = ()
    """URLs the check calls: each line says how it went there (direct or which proxy, TLS)."""


@dataclass(frozen=True)
class Outcome:
    check: Check
    ok: bool
    detail: str
    """What was found, or why it failed and what to do; never empty."""
    elapsed_s: float
    checked: bool = True
    """False when it could not run because a check it needs failed (counted apart from failures)."""

    def line(self) -> str:
        head = f"{self.check.name} (limit {self.check.deadline_s:g} s)"
        routes = "; ".join(
            f"{url.rstrip('/')} {describe_route(url, reached=self.ok)}" for url in self.check.endpoints
        )
        # On the check's own line: a listing of problems below it ends with its last problem, not the route.
        first, newline, listing = self.detail.partition("\n")
        colon = ":" if newline and first.endswith(":") else ""
        detail = f"{first.removesuffix(colon)} ({routes}){colon}{newline}{listing}" if routes else self.detail
        if self.ok:
            return f"{head}: OK in {self.elapsed_s:.1f} s: {detail}"
        if not self.checked:
            return f"{head}: {detail}"
        return f"{head}: FAILED after {self.elapsed_s:.1f} s: {detail}"


def _slack_checks(config: AppConfig, session: aiohttp.ClientSession) -> list[Check]:
    from bot.app import slack_web_client

    settings = config.settings
    route = settings.slack_api_url
    found: list[Check] = []
    if settings.slack_bot_token is not None:
        bot_client = slack_web_client(session, settings.slack_bot_token.get_secret_value(), settings)
        found.extend(_workspace_checks(config, bot_client, route))
    if settings.mode == "socket" and settings.slack_app_token is not None:
        app_client = slack_web_client(session, settings.slack_app_token.get_secret_value(), settings)

        async def app() -> str:
            try:
                await check_app_token(app_client, deadline_s=SLACK_DEADLINE_S)
            except Refused as exc:
                raise _Failed(token_advice("SLACK_APP_TOKEN", exc)) from exc
            return "Socket Mode may connect"

        found.append(Check("slack: SLACK_APP_TOKEN (apps.connections.open)", SLACK_DEADLINE_S, app, (route,)))
    return found


def _workspace_checks(config: AppConfig, client: WatchedWebClient, route: str) -> list[Check]:
    """The bot token, then what the workspace must hold for this configuration: scopes, channels, people,
    groups. One `auth.test` serves them all; when Slack refuses the token, the others say so in a word."""
    targets = config.bot.targets
    auth: asyncio.Task[BotTokenCheck] | None = None

    async def who() -> BotTokenCheck:
        nonlocal auth
        if auth is None:
            auth = asyncio.ensure_future(check_bot_token(client, deadline_s=SLACK_DEADLINE_S))
            # Read by whoever still waits; when every waiter met its own deadline first, read here, so the
            # late failure is not printed as "Task exception was never retrieved" under the summary.
            auth.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            return await asyncio.shield(auth)
        except Refused as exc:
            raise _Failed(token_advice("SLACK_BOT_TOKEN", exc)) from exc

    async def token() -> str:
        found = await who()
        return f"bot @{found.user} in {found.team}"

    async def token_first() -> BotTokenCheck:
        try:
            return await who()
        except Exception as exc:
            raise _NotChecked("not checked: the bot token check failed (see SLACK_BOT_TOKEN above)") from exc

    async def scopes() -> str:
        return check_scopes((await token_first()).scopes, targets)

    async def channels() -> str:
        name = (await token_first()).user
        return await check_channels(client, targets, config.settings.audit_channel, name)

    async def people() -> str:
        await token_first()
        return await check_people(client, targets)

    async def groups() -> str:
        from bot.slack.directory import describe_groups

        await token_first()
        lines, ok = await describe_groups(client, targets)
        found = [line.split(": ", 1)[1].removeprefix("FAILED: ") for line in lines]
        if not ok:
            raise WorkspaceProblems(found)
        return "; ".join(found)

    after_token = SLACK_DEADLINE_S + AFTER_TOKEN_S
    found = [
        Check("slack: SLACK_BOT_TOKEN (auth.test)", SLACK_DEADLINE_S, token, (route,)),
        Check("slack: scopes granted (auth.test)", after_token, scopes),
        Check("slack: channels (conversations.info)", after_token, channels),
    ]
    if any(p.user_ids for t in targets for _, p in t.named_principals):
        found.append(Check("slack: people named in the targets (users.info)", after_token, people))
    named = any(p.group_handles or p.group_ids for t in targets for _, p in t.named_principals)
    if named:  # only targets naming user groups have something to resolve
        found.append(Check("slack: user groups (usergroups.list)", after_token, groups, (route,)))
    return found


def _target_check(target: Target, session: aiohttp.ClientSession) -> Check:
    from bot.app import ecs_client

    async def run() -> str:
        client = ecs_client(
            session,
            target,
            concurrency=2,
            timeout_s=CLOUD_DEADLINE_S,
            retry=RetryPolicy(max_attempts=1, deadline_s=CLOUD_DEADLINE_S),
        )
        await client.check_access()
        return "servers listed"

    called = (target.ecs_endpoint, *((target.iam_endpoint,) if target.auth.type == "password" else ()))
    endpoints = tuple(dict.fromkeys(u.rstrip("/") for u in called))  # one line per place (IAM may be ECS's)
    return Check(f"target {target.name}", CLOUD_DEADLINE_S, run, endpoints)


def _path_as_run_sees_it(url: str) -> tuple[str | None, bool]:
    """What `run` would refuse of a SQLite path (None: nothing), and whether the file is still to make."""
    from bot.database_checks import database_path_problem, sqlite_file

    database = sqlite_file(url)
    return database_path_problem(url), database is not None and not os.path.exists(database)


def _database_check(config: AppConfig) -> Check:
    """BOT_DATABASE_URL as `run` would open it, read-only: answers, and where its schema stands. A SQLite
    path is first checked as `run` checks it (`database_path_problem`: the same sentence for the same
    path); a file that does not exist yet is fine when it can be made (`run` creates the folder and it)."""
    from bot.database_checks import database_display, database_unavailable
    from bot.store import StoreUnavailable

    url = config.settings.database_url
    where = database_display(url)

    async def run() -> str:
        from bot.store import Store

        problem, missing = await asyncio.to_thread(_path_as_run_sees_it, url)
        if problem is not None:
            raise _Failed(problem)
        if missing:
            return f"{where}: not created yet; `run` creates it"
        keys = [k.get_secret_value() for k in config.settings.secret_keys]
        store = await Store.open(url, secret_keys=keys, connect_timeout=DATABASE_DEADLINE_S)
        try:
            found = await store.schema_revisions()
        except StoreUnavailable as exc:
            raise _Failed(database_unavailable(url, exc)) from None
        finally:
            await store.close()
        if found.current is None:
            return f"{where}: answers; no tables yet, `run` creates them"
        if found.current == found.head:
            return f"{where}: answers; schema up to date ({found.current})"
        if found.known:
            return f"{where}: answers; schema at {found.current}, `run` migrates it to {found.head}"
        raise _Failed(
            f"{where}: its schema ({found.current}) is newer than this version of the bot knows "
            f"({found.head}); a newer version migrated it: run that version or a newer one"
        )

    return Check("database (BOT_DATABASE_URL)", DATABASE_DEADLINE_S, run)


def checks(config: AppConfig, session: aiohttp.ClientSession) -> list[Check]:
    """Everything `doctor` verifies, in the order it prints them."""
    return [
        _database_check(config),
        *_slack_checks(config, session),
        *(_target_check(t, session) for t in config.bot.targets),
    ]


class _Failed(Exception):
    """A check's own explanation, printed as it is."""


class _NotChecked(_Failed):
    """A check that could not run because one it needs failed: said, and counted apart."""


def _reason(exc: BaseException, deadline_s: float) -> str:
    if isinstance(exc, _Failed):
        return str(exc)
    if isinstance(exc, WorkspaceProblems):
        return f"{len(exc.problems)} problem(s):" + "".join(f"\n    - {p}" for p in exc.problems)
    if isinstance(exc, Unreachable):
        return f"{exc.url}: {exc.cause}"
    if isinstance(exc, EcsError):
        text = str(exc).strip() or exc.message
        inner = exc.__cause__ or exc.__context__
        if inner is not None and not isinstance(inner, EcsError):
            text = f"{text} ({cause_of(inner, deadline_s=deadline_s)})"
        return text
    return cause_of(exc, deadline_s=deadline_s)


async def _run(check: Check) -> Outcome:
    start = time.monotonic()
    try:
        async with asyncio.timeout(check.deadline_s):
            detail = await check.run()
    except _NotChecked as exc:
        return Outcome(check, False, str(exc), time.monotonic() - start, checked=False)
    except Exception as exc:
        return Outcome(check, False, _reason(exc, check.deadline_s), time.monotonic() - start)
    return Outcome(check, True, detail or "OK", time.monotonic() - start)


async def run_checks(todo: list[Check]) -> list[Outcome]:
    """All at once; each ends by its own deadline, so this returns within the largest of them."""
    return list(await asyncio.gather(*(_run(c) for c in todo)))


async def run_doctor(config: AppConfig, echo: Callable[[str], None]) -> int:
    """Prints one line per check; returns 0 when all passed, 1 otherwise."""
    settings = config.settings
    echo(
        f"configuration: OK ({len(config.bot.targets)} target(s), "
        f"{'Socket Mode' if settings.mode == 'socket' else 'HTTP mode'})"
    )
    async with new_session(settings.ca_bundle) as session:
        outcomes = await run_checks(checks(config, session))
    for outcome in outcomes:
        echo(outcome.line())
    failed = sum(not o.ok and o.checked for o in outcomes)
    skipped = sum(not o.checked for o in outcomes)
    if failed or skipped:
        after = f", {skipped} not checked (each needs one that failed)" if skipped else ""
        echo(f"{failed} of {len(outcomes)} check(s) failed{after}")
        return 1
    echo(f"all {len(outcomes)} check(s) passed")
    return 0
