"""Command line: `run` the bot, play the `demo`, check the setup with `doctor`, or start the `simulator`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

import aiohttp
import click
from aiohttp import web

from bot.config import AppConfig, ConfigError, load_app_config
from bot.logs import configure_logging
from bot.outbound import proxy_for

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger("bot")


def _wants_the_demo() -> bool:
    """No Slack token and no targets file: someone trying the bot, not an operator who forgot one."""
    return not os.environ.get("SLACK_BOT_TOKEN") and not os.environ.get("BOT_CONFIG")


def _load() -> AppConfig:
    try:
        return load_app_config()
    except ConfigError as exc:
        click.echo(f"The configuration has problems; nothing was started.\n{exc}", err=True)
        sys.exit(2)


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """ecs-reset-bot: batch ECS password resets behind a Slack approval workflow."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command()
def run() -> None:
    """Serve Slack (Socket Mode or HTTP); with neither a Slack token nor a targets file, play the demo."""
    if _wants_the_demo():
        click.echo(
            "No SLACK_BOT_TOKEN or BOT_CONFIG set: running the demo on the built-in simulators.\n", err=True
        )
        sys.exit(asyncio.run(_demo()))
    config = _load()
    configure_logging(config.settings.log_level, config.settings.log_format)
    asyncio.run(_serve(config))


async def _serve(config: AppConfig) -> None:
    from bot.app import Runtime, Tuning

    tuning = Tuning(
        lease=config.settings.execution_lease,
        sweep_interval_s=config.settings.sweep_interval.total_seconds(),
    )
    runtime = await Runtime.build(config, tuning=tuning)
    await runtime.start()
    settings = config.settings
    runner = web.AppRunner(runtime.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    socket_handler = None
    if settings.mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        socket_handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
        # slack_sdk reads HTTPS_PROXY itself when given none, ignoring NO_PROXY: the session's rule instead.
        socket_handler.client.proxy = proxy_for(settings.slack_api_url)
        await socket_handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("connected to Slack in Socket Mode; health and metrics on port %d", settings.http_port)
    else:
        log.info("serving Slack on http://%s:%d/slack/events", settings.http_host, settings.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    freezing = asyncio.create_task(_freeze_when_warm(runtime))
    await stop.wait()
    freezing.cancel()
    log.info("shutting down: finishing work in flight")
    if socket_handler is not None:
        await socket_handler.close_async()  # type: ignore[no-untyped-call]
    await runner.cleanup()
    await runtime.close()


async def _freeze_when_warm(runtime: Runtime) -> None:
    await runtime.warmed()
    _freeze_startup_heap()


def _freeze_startup_heap() -> None:
    """Keep what start-up built (modules, models, the warm server lists) out of the cyclic GC's scans.

    A full collection walks every tracked object: ~140,000 here after start, 50-90 ms per pass on this
    machine, and every request in flight waits that long (bench/ack_latency.py, BENCHMARKS.md section 2).
    Frozen objects are still freed by reference counting when dropped.
    """
    gc.collect()
    gc.freeze()


async def _demo() -> int:
    from bot.demo import run_demo

    configure_logging("WARNING", "text")
    return await run_demo()


@main.command()
def demo() -> None:
    """Play one request end to end on the simulators and print what each person sees."""
    sys.exit(asyncio.run(_demo()))


@main.command()
def doctor() -> None:
    """Check the configuration, the Slack token and each target's credentials, read-only."""
    config = _load()
    configure_logging("WARNING", config.settings.log_format)
    sys.exit(asyncio.run(_doctor(config)))


async def _doctor(config: AppConfig) -> int:
    from bot.app import ecs_client, slack_web_client
    from bot.outbound import describe_route, new_session

    problems = 0
    settings = config.settings
    click.echo(f"configuration: OK ({len(config.bot.targets)} target(s), mode {settings.mode})")
    async with new_session(settings.ca_bundle) as session:
        token = settings.slack_bot_token
        client = slack_web_client(session, token.get_secret_value() if token else None, settings)
        route = settings.slack_api_url
        try:
            auth = await client.auth_test()
            who = f"bot {auth.get('user')} in {auth.get('team')}"
            click.echo(f"slack: OK ({who}; {describe_route(route, reached=True)})")
        except aiohttp.ClientConnectorCertificateError as exc:
            problems += 1
            click.echo(
                f"slack: FAILED: the certificate of {exc.host} is not trusted; set BOT_CA_BUNDLE "
                f"({describe_route(route, reached=False)})"
            )
        except Exception as exc:
            problems += 1
            click.echo(f"slack: FAILED: {exc} ({describe_route(route, reached=False)})")
        for target in config.bot.targets:
            ecs = ecs_client(session, target, concurrency=2, timeout_s=15)
            endpoints = [target.ecs_endpoint] + (
                [target.iam_endpoint] if target.auth.type == "password" else []
            )
            try:
                await ecs.check_access()
                routes = "; ".join(f"{url} {describe_route(url, reached=True)}" for url in endpoints)
                click.echo(f"target {target.name}: OK ({routes})")
            except Exception as exc:
                problems += 1
                routes = "; ".join(f"{url} {describe_route(url, reached=False)}" for url in endpoints)
                click.echo(f"target {target.name}: FAILED: {exc} ({routes})")
    return 1 if problems else 0


@main.command()
@click.option("--port", default=8900, show_default=True, help="Port to listen on (127.0.0.1).")
@click.option("--servers", default=50, show_default=True, help="How many servers the fake fleet has.")
@click.option("--seed", default=0, show_default=True, help="Seed of the generated fleet.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Delay added to every call.")
def simulator(port: int, servers: int, seed: int, latency_ms: float) -> None:
    """Run the fake ECS + IAM API for trying the bot without a cloud."""
    from bot.simulator import serve_forever

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(port, servers=servers, seed=seed, latency_ms=latency_ms))


if __name__ == "__main__":
    main()
