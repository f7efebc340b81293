"""Command line: `run` the bot, play the `demo`, check the setup with `doctor`, or start the `simulator`.

Exit codes: 0 done (or stopped by SIGTERM/SIGINT), 1 a check or the start failed, 2 the configuration has
problems, 3 Slack refuses a token.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _stop_quietly(signum: int, frame: FrameType | None) -> None:
    """A signal before the event loop takes over (while the heavy imports run, about a second): a clean
    stop, exit 0, as the loop's own handlers give later; never Python's default death by signal (143) or a
    KeyboardInterrupt traceback from the middle of an import."""
    raise SystemExit(0)


def _stop_quietly_on_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_quietly)


_stop_quietly_on_signals()  # first, before anything slow is imported

import asyncio  # noqa: E402 - after the signal handlers on purpose
import gc  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from collections.abc import Coroutine  # noqa: E402
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar  # noqa: E402

import click  # noqa: E402

from bot import __version__  # noqa: E402
from bot.exit_codes import EXIT_CONFIG  # noqa: E402
from bot.logs import configure_logging  # noqa: E402

if TYPE_CHECKING:
    from bot.config import AppConfig, ConfigError

T = TypeVar("T")


def _wants_the_demo() -> bool:
    """Someone trying the bot: no SLACK_* or BOT_* variable at all. Any one of them means an operator
    setting it up, who gets told what is missing (a misspelt name must never end in a demo)."""
    return not any(
        value.strip() for name, value in os.environ.items() if name.upper().startswith(("SLACK_", "BOT_"))
    )


def _exit(code: int) -> NoReturn:
    """Exit without the interpreter's seconds of teardown: finalising modules runs a full garbage
    collection per phase over everything the bot imported (SQLAlchemy, Bolt, pydantic), 3 s and more on a
    busy machine after a stop during start-up. Frozen objects are skipped by those collections; the
    process is ending, so nothing is lost by not scanning them."""
    gc.freeze()
    sys.exit(code)


def _load(nothing: str = "nothing was started") -> AppConfig:
    # Imported here: the configuration pulls in SQLAlchemy and aiohttp, which `--version` needs not wait for.
    from bot.config import ConfigError, load_app_config

    try:
        return load_app_config()
    except ConfigError as exc:
        _configuration_problems(exc, nothing)


def _configuration_problems(exc: ConfigError, consequence: str) -> NoReturn:
    """The one listing of configuration problems, exit 2: those of the files and the environment, and
    those `run` finds once Slack answers (a user group the workspace does not have)."""
    click.echo(exc.block(consequence), err=True)
    _exit(EXIT_CONFIG)


async def _until_signal(work: Coroutine[Any, Any, T]) -> T | None:
    """Runs `work`, cancelling it on SIGTERM or SIGINT (its `finally` blocks clean up); None if cancelled."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            return None
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        _stop_quietly_on_signals()  # removing restored Python's defaults; a late signal still stops cleanly


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="ecs-reset-bot", message="%(prog)s %(version)s"
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """ecs-reset-bot: batch ECS password resets behind a Slack approval workflow."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command()
def run() -> None:
    """Serve Slack (Socket Mode or HTTP); with no SLACK_* or BOT_* variable set at all, play the demo."""
    if _wants_the_demo():
        click.echo(
            "No SLACK_* or BOT_* variable is set: playing the demo on the built-in simulators (starting "
            "them takes a few seconds).\n",
            err=True,
        )
        _exit(_play_demo())
    config = _load()
    configure_logging(config.settings.log_level, config.settings.log_format)
    from bot.config import ConfigError
    from bot.serve import serve

    try:
        code = asyncio.run(serve(config))
    except ConfigError as exc:  # found once Slack answered: listed as the others are
        _configuration_problems(exc, "the bot stopped before serving")
    _exit(code)


def _play_demo() -> int:
    from bot.demo import run_demo

    configure_logging("WARNING", "text")
    code = asyncio.run(_until_signal(run_demo()))
    if code is None:
        sys.stdout.flush()  # what the demo printed comes first, also when both streams go to one pipe
        click.echo("The demo was stopped; nothing is left behind.", err=True)
        return 0
    return code


@main.command()
def demo() -> None:
    """Play one request end to end on the simulators and print what each person does and sees."""
    _exit(_play_demo())


@main.command()
def doctor() -> None:
    """Check the configuration, the database, the Slack tokens and workspace, and each target, read-only."""
    config = _load("nothing else was checked")
    configure_logging("ERROR", config.settings.log_format)
    # The Web API client logs each unusable channel as the running bot should; doctor prints them itself.
    logging.getLogger("bot.slack.client").setLevel(logging.CRITICAL)
    from bot.doctor import run_doctor

    code = asyncio.run(_until_signal(run_doctor(config, click.echo)))
    _exit(1 if code is None else code)


@main.command()
@click.option(
    "--port",
    default=8900,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (127.0.0.1).",
)
@click.option("--servers", default=50, show_default=True, help="How many servers the fake fleet has.")
@click.option("--seed", default=0, show_default=True, help="Seed of the generated fleet.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Delay added to every call.")
def simulator(port: int, servers: int, seed: int, latency_ms: float) -> None:
    """Run the fake ECS + IAM API for trying the bot without a cloud; SIGTERM or Ctrl-C stops it."""
    from bot.simulator import serve_forever

    try:
        asyncio.run(_until_signal(serve_forever(port, servers=servers, seed=seed, latency_ms=latency_ms)))
    except OSError as exc:  # the port: taken (a simulator already running, often) or not ours to bind
        click.echo(
            f"cannot start the simulator on 127.0.0.1:{port}: {exc.strerror or exc}; is one already "
            "running? Choose another with --port (and set BOT_SIMULATOR_URL to match).",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
