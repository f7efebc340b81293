"""`python -m bot run`: start in an order that names what is wrong, serve, and stop cleanly on a signal.

Order: signal handlers first (SIGTERM/SIGINT stop the bot at any moment, even before Slack answers), then
the database, the HTTP server (`/livez`, `/healthz`, `/metrics`, and `/slack/events` in HTTP mode), then
Slack (`slack_checks`: the tokens, then the user groups the targets name), and only then the work a
previous process left behind. Tokens Slack refuses end the start with one line naming every such
variable (exit 3); an unreachable Slack is retried with backoff, one WARNING line per attempt. Known
failures (database down, port in use, folder not writable) are one ERROR line and exit 1; the traceback
is there at DEBUG. A user group the workspace does not have is a configuration problem: `serve` raises
ConfigError, and the command line lists it as it lists the others (exit 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import re
import signal
from collections.abc import Awaitable, Iterator
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.config import AppConfig
from bot.database_checks import (
    check_database_folder,
    database_display,
    database_unavailable,
    sqlite_file,
    unwritable_folder,
)
from bot.exit_codes import EXIT_FAILED, EXIT_REFUSED, StartupFailure
from bot.outbound import proxy_for
from bot.probes import BotTokenCheck
from bot.slack_checks import check_slack, pin_user_groups
from bot.slack_link import SocketModeLink
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.app import Runtime, Tuning

__all__ = ["EXIT_FAILED", "EXIT_REFUSED", "StartupFailure", "database_display", "serve"]

log = logging.getLogger("bot")


async def _open_runtime(config: AppConfig, tuning: Tuning | None) -> Runtime:
    from bot.app import Runtime

    url = config.settings.database_url
    check_database_folder(url)
    try:
        return await Runtime.build(config, tuning=tuning)
    except PermissionError as exc:  # the file itself (the folder was checked): not ours to write
        database = sqlite_file(url)
        raise StartupFailure(unwritable_folder(database.parent) if database else str(exc)) from exc
    except OSError as exc:  # creating the file, where the checks foresaw nothing wrong
        database = sqlite_file(url)
        if database is None or exc.filename != str(database):
            raise
        raise StartupFailure(
            f"cannot create the database file {database} ({exc.strerror or exc}); point BOT_DATABASE_URL at "
            "a file in a writable folder"
        ) from exc


@contextlib.contextmanager
def _database_named(runtime: Runtime) -> Iterator[None]:
    """The database failing under a start step: one line naming it (kind and place, no secret)."""
    try:
        yield
    except StoreUnavailable as exc:
        raise StartupFailure(database_unavailable(runtime.config.settings.database_url, exc)) from exc


async def _listen(runtime: Runtime, stack: contextlib.AsyncExitStack) -> None:
    """Slack's listener (and health and metrics', when apart), each with its read timeout and cap."""
    settings = runtime.config.settings
    host, port = settings.http_host, settings.http_port
    try:
        listeners = await runtime.listen()
        stack.push_async_callback(listeners.close)
    except OSError as exc:
        bound = re.search(r"\('?([^',]*)'?, (\d+)\)", str(exc))
        variable = "BOT_HTTP_PORT"
        if bound and settings.metrics_port is not None and int(bound.group(2)) == settings.metrics_port:
            # The health and metrics listener, not Slack's: name its own port and variable.
            host, port, variable = bound.group(1) or host, settings.metrics_port, "BOT_METRICS_PORT"
        if exc.errno == errno.EADDRINUSE:
            raise StartupFailure(
                f"port {port} on {host} is already in use by another program; stop it or set {variable}"
            ) from exc
        raise StartupFailure(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); check BOT_HTTP_HOST and BOT_HTTP_PORT"
        ) from exc


WORKSPACE_CHECK_DEADLINE_S = 10.0


async def warn_about_the_workspace(
    runtime: Runtime, bot: BotTokenCheck, *, deadline_s: float = WORKSPACE_CHECK_DEADLINE_S
) -> int:
    """What `doctor` checks of the workspace (scopes, channels, people), at start: one WARNING line per
    problem, with its fix. Not a reason to stop: the bot serves the targets that work, and a requester
    whose approvers channel is unusable is told so; but the operator hears of it now, not from a
    colleague. Returns the number of problems (for tests); silent (DEBUG) when Slack does not answer
    within `deadline_s` seconds (tests shorten it)."""
    from bot.app import slack_web_client
    from bot.slack.inspection import WorkspaceProblems, check_channels, check_people, check_scopes

    config = runtime.config
    targets = config.bot.targets
    assert config.settings.slack_bot_token is not None
    # A client of its own: what it finds is said here once as WARNING, not also by the bot's watched
    # client as an unusable channel (that one hears of it when the bot first posts there).
    token = config.settings.slack_bot_token.get_secret_value()
    client = slack_web_client(runtime.session, token, config.settings)

    async def scopes() -> str:
        return check_scopes(bot.scopes, targets)

    checks: list[Awaitable[str]] = [
        scopes(),
        check_channels(client, targets, config.settings.audit_channel, bot.user),
        check_people(client, targets),
    ]
    problems: list[str] = []
    try:
        async with asyncio.timeout(deadline_s):
            for outcome in await asyncio.gather(*checks, return_exceptions=True):
                if isinstance(outcome, WorkspaceProblems):
                    problems.extend(outcome.problems)
                elif isinstance(outcome, Exception):
                    log.debug("workspace check at start did not finish: %s", outcome)
    except TimeoutError:
        log.debug("workspace checks at start took over %g s; skipped", deadline_s)
    for problem in problems:
        log.warning("workspace: %s (`python -m bot doctor` lists every check)", problem)
    return len(problems)


def _freeze_startup_heap() -> None:
    """Keep what start-up built (modules, models, the warm server lists) out of the cyclic GC's scans.

    A full collection walks every tracked object: ~140,000 here after start, 50-90 ms per pass on this
    machine, and every request in flight waits that long (bench/ack_latency.py, BENCHMARKS.md section 2).
    Frozen objects are still freed by reference counting when dropped.
    """
    gc.collect()
    gc.freeze()


async def _freeze_when_warm(runtime: Runtime) -> None:
    await runtime.warmed()
    _freeze_startup_heap()


def _background(stack: contextlib.AsyncExitStack, coroutine: Any, name: str) -> None:
    task = asyncio.create_task(coroutine, name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    stack.push_async_callback(stop)


async def _start(config: AppConfig, stack: contextlib.AsyncExitStack, tuning: Tuning | None) -> None:
    settings = config.settings
    runtime = await _open_runtime(config, tuning)
    stack.push_async_callback(runtime.close)
    # Not ready until the last start-up step: the steps between the Slack checks await too.
    runtime.health.report("starting", "starting up", level=logging.DEBUG)
    with _database_named(runtime):
        await runtime.store.migrate()
    await _listen(runtime, stack)
    bot, wss_url = await check_slack(runtime)
    await pin_user_groups(runtime)
    with _database_named(runtime):
        await runtime.begin()
    identity = f"@{bot.user} in {bot.team}"
    _background(stack, runtime.slack_client.recheck_refused_token(), "token-recheck")
    if settings.mode == "socket":
        assert settings.slack_app_token is not None
        link = SocketModeLink(
            runtime.app,
            settings.slack_app_token.get_secret_value(),
            runtime.health,
            client=runtime.slack_client,
            # slack_sdk reads HTTPS_PROXY itself, ignoring NO_PROXY: the session's rule instead.
            proxy=proxy_for(settings.slack_api_url),
        )
        stack.push_async_callback(link.close)
        await link.connect(wss_url)
    # Before the summary (read together, in this order), and before /healthz says ready: a start is over
    # when its checks are, so a probe or a test sees no start-up call after it.
    runtime.health.report("starting", "reading the workspace's channels and people", level=logging.DEBUG)
    await warn_about_the_workspace(runtime, bot)
    runtime.health.clear("starting")
    _background(stack, _freeze_when_warm(runtime), "freeze-when-warm")
    log.info("%s", summary(config, identity))


def summary(config: AppConfig, identity: str) -> str:
    """The one start-up line: version, mode, Slack identity, targets, database, listening addresses."""
    settings = config.settings
    base = f"http://{settings.http_host}:{settings.http_port}"
    slack = (
        "Socket Mode" if settings.mode == "socket" else f"HTTP mode, Slack requests on {base}/slack/events"
    )
    if settings.metrics_port is not None:  # health and metrics on their own listener (BOT_METRICS_PORT)
        base = f"http://{settings.metrics_host or settings.http_host}:{settings.metrics_port}"
    targets = ", ".join(t.name for t in config.bot.targets)
    database = database_display(settings.database_url)
    return (
        f"ecs-reset-bot {__version__} serving as {identity} ({slack}); "
        f"{len(config.bot.targets)} target(s): {targets}; database {database}; "
        f"health on {base}/healthz and {base}/livez, metrics on {base}/metrics"
    )


async def serve(config: AppConfig, *, tuning: Tuning | None = None) -> int:
    """Runs until SIGTERM or SIGINT; returns the process's exit code (0 after a clean stop). Raises
    ConfigError for configuration problems found once Slack answers (a user group it does not have)."""
    from bot.app import Tuning

    tuning = tuning or Tuning(
        lease=config.settings.execution_lease,
        sweep_interval_s=config.settings.sweep_interval.total_seconds(),
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(name: str) -> None:
        if stop.is_set():
            log.info("%s: already stopping (work in flight gets at most %g s)", name, tuning.drain_timeout_s)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        async with contextlib.AsyncExitStack() as stack:
            starting = asyncio.create_task(_start(config, stack, tuning), name="start")
            stopping = asyncio.create_task(stop.wait(), name="wait-for-signal")
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.info("stopping: a signal arrived before start-up finished")
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError, StartupFailure):
                    await starting
            else:
                stopping.cancel()
                starting.result()
                await stop.wait()
                log.info("shutting down: finishing work in flight (at most %g s)", tuning.drain_timeout_s)
        log.info("stopped")
        return 0
    except StartupFailure as exc:
        log.error("cannot start: %s", exc, exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
        return exc.exit_code
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
