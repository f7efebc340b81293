"""The command line as an operator meets it: the demo without credentials, config errors, doctor."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from support.polling import eventually
from support.processes import die_with_parent
from support.proxy import ForwardProxy

from bot.demo import APPROVERS, APPROVERS_CHANNEL, DEMO_TARGETS
from bot.simulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, DEMO_USER, Simulator
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BOT_"))}
    return {**keep, **extra}


def _run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_without_slack_credentials_plays_the_demo_to_the_revealed_password() -> None:
    result = _run("run", env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "playing the demo" in result.stderr
    out = result.stdout
    assert "[modal for @alice] Your new password" in out
    assert "Approved. Request #1 is running now." in out
    # Who did what, in order, beside what the bot answered; lists indented under their message.
    steps = [
        ">> @alice (on call) types: /reset-ecs-password web-",
        "(pre-filled by the bot: Or paste names or IDs: web-",
        ">> @alice fills in the form and clicks Check and submit:\n    Target: demo-aksk\n    Servers: web-",
        "    Reason: OPS-42 root password lost after migration",
        "[#ecs-approvals] bot: *Password reset request #1*",
        ">> @bob (lead) clicks Approve on the card in #ecs-approvals",
        ">> @alice clicks Reveal once in her DM with the bot",
        "[modal for @alice] Your new password",
        ">> 3 a.m., an incident: @erin (incident commander) types /reset-ecs-password web-",
        "[modal for @erin, pushed] Confirm break-glass",
        ">> @erin reads what will happen and who will be told, and clicks Run without approval",
        ":rotating_light: *BREAK-GLASS*: run without approval by @erin",
        "[DM @bob] bot: :rotating_light: *Break-glass on demo-aksk*",
        "[DM @carol] bot: :rotating_light: *Break-glass on demo-aksk*",
        ">> @bob (lead) reads his DM, checks the incident, and clicks Acknowledge on the card",
        ":white_check_mark: Acknowledged by @bob",
        "To connect a real workspace:\n  1. Create the Slack app from manifest.yml",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions), out
    assert "\n    • `web-" in out
    assert "\n• " not in out


def test_config_mistakes_are_listed_and_nothing_starts(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yml"
    targets.write_text("targets:\n  - name: x\n    cloud: azure\n")
    result = _run(
        "run",
        env=_env(
            SLACK_BOT_TOKEN="xoxb-1",
            SLACK_APP_TOKEN="xapp-1",
            BOT_CONFIG=str(targets),
            BOT_SECRET_KEY=Fernet.generate_key().decode(),
        ),
    )
    assert result.returncode == 2
    assert "nothing was started" in result.stderr
    assert "targets[0].cloud" in result.stderr
    assert "xoxb-1" not in result.stderr + result.stdout


async def test_doctor_checks_slack_and_every_target(outside_world: tuple[Simulator, FakeSlack]) -> None:
    sim, slack = outside_world
    # The workspace the demo targets name: their approvers channel (with the bot in it) and approvers.
    slack.add_channel(APPROVERS_CHANNEL, "ecs-approvals")
    for user_id, name in zip(APPROVERS, ("bob", "carol"), strict=True):
        slack.add_user(user_id, name)
    env = _env(
        SLACK_BOT_TOKEN=FAKE_BOT_TOKEN,
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=slack.api_url,
        BOT_CONFIG=str(DEMO_TARGETS),
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
        BOT_SIMULATOR_URL=sim.url,
        DEMO_ACCESS_KEY=DEMO_ACCESS_KEY,
        DEMO_SECRET_KEY=DEMO_SECRET_KEY,
        DEMO_IAM_USER=DEMO_USER.name,
        DEMO_IAM_PASSWORD=DEMO_USER.password,
    )
    ok = await asyncio.to_thread(_run, "doctor", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "slack: SLACK_BOT_TOKEN (auth.test) (limit 5 s): OK" in ok.stdout
    assert "slack: channels (conversations.info) (limit 6 s): OK" in ok.stdout
    assert "slack: people named in the targets (users.info) (limit 6 s): OK" in ok.stdout
    assert "target demo-aksk (limit 10 s): OK" in ok.stdout
    assert "target demo-iam (limit 10 s): OK" in ok.stdout

    bad = await asyncio.to_thread(_run, "doctor", env={**env, "DEMO_IAM_PASSWORD": "Wrong-Passw0rd"})
    assert bad.returncode == 1
    assert "target demo-iam (limit 10 s): FAILED" in bad.stdout
    assert "target demo-aksk (limit 10 s): OK" in bad.stdout
    assert "Wrong-Passw0rd" not in bad.stdout + bad.stderr

    # Behind a proxy (the usual way out of a corporate network), doctor says which route each endpoint takes.
    proxy = ForwardProxy()
    await proxy.start()
    try:
        direct = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
        proxied = await asyncio.to_thread(_run, "doctor", env={**direct, "HTTP_PROXY": proxy.url})
    finally:
        await proxy.stop()
    assert proxied.returncode == 0, proxied.stdout + proxied.stderr
    slack_line = proxied.stdout.split("SLACK_BOT_TOKEN (auth.test) (limit 5 s): OK", 1)[1].splitlines()[0]
    assert f"via proxy {proxy.url}, no TLS (http)" in slack_line
    target_line = proxied.stdout.split("target demo-aksk (limit 10 s): OK", 1)[1].splitlines()[0]
    assert f"({sim.url.rstrip('/')} via proxy {proxy.url}, no TLS (http))" in target_line
    assert any(line.startswith("POST http://") and "auth.test" in line for line in proxy.seen)


async def test_the_simulator_on_a_taken_or_impossible_port_is_one_line() -> None:
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = holder.sockets[0].getsockname()[1]
    try:
        taken = await asyncio.to_thread(_run, "simulator", "--port", str(port), env=_env(), timeout=60)
    finally:
        holder.close()
    assert taken.returncode == 1, taken
    assert f"cannot start the simulator on 127.0.0.1:{port}: " in taken.stderr
    assert "--port" in taken.stderr
    assert "Traceback" not in taken.stderr + taken.stdout
    impossible = await asyncio.to_thread(_run, "simulator", "--port", "99999", env=_env(), timeout=60)
    assert impossible.returncode == 2, impossible  # click's usage error
    assert "99999 is not in the range 0<=x<=65535" in impossible.stderr
    assert "Traceback" not in impossible.stderr


async def test_simulator_command_serves_the_fake_cloud() -> None:
    import aiohttp
    from support.processes import free_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, then only read from a thread
        [sys.executable, "-m", "bot", "simulator", "--port", str(port), "--servers", "3"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = await asyncio.to_thread(proc.stdout.readline)
        assert f"http://127.0.0.1:{port}" in banner
        async with aiohttp.ClientSession() as http:
            # Unsigned: the fake cloud checks signatures like the real gateway does.
            async with http.get(f"http://127.0.0.1:{port}/v1/{DEMO_PROJECT_ID}/cloudservers/detail") as r:
                assert r.status == 401
                assert (await r.json())["error_code"] == "APIGW.0301"
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_operator_missing_the_token_gets_an_error_not_the_demo(tmp_path: Path) -> None:
    """With a targets file set, a missing token is a mistake to report, never a reason to play the demo."""
    result = _run("run", env=_env(BOT_CONFIG=str(DEMO_TARGETS)))
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "playing the demo" not in result.stderr


def test_the_start_up_heap_is_kept_out_of_the_collectors_scans() -> None:
    from bot.serve import _freeze_startup_heap

    try:
        _freeze_startup_heap()
        assert gc.get_freeze_count() > 10_000  # modules, models, the warm server lists
    finally:
        gc.unfreeze()


def test_a_misspelt_token_is_named_and_never_plays_the_demo() -> None:
    """A container with a typo must fail (and say which), not restart forever into demos that exit 0."""
    result = _run("run", env=_env(SLACK_BOT_TOKNE="xoxb-typo-1234"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SLACK_BOT_TOKNE: set, but the bot reads no such variable; did you mean SLACK_BOT_TOKEN?" in (
        result.stderr
    )
    assert "playing the demo" not in result.stderr
    assert "xoxb-typo-1234" not in result.stderr + result.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_during_the_demo_stops_it_and_leaves_no_temporary_folder(
    tmp_path: Path, sig: signal.Signals
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - polled below without blocking the loop
            [sys.executable, "-m", "bot", "demo"],
            cwd=ROOT,
            env=_env(TMPDIR=str(scratch)),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:

        def playing() -> bool:
            assert proc.poll() is None, log.read_text()
            return ">> @alice (on call) types" in log.read_text()

        await eventually(playing, 60, "the demo's first move")
        assert list(scratch.glob("ecs-reset-bot-*")), "the demo keeps its database in a temporary folder"
        proc.send_signal(sig)
        await eventually(lambda: proc.poll() is not None, 15, "the demo to exit")
        assert proc.poll() == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    # Last, though stdout and stderr share one file here (stdout is block-buffered into it).
    assert text.rstrip().endswith("The demo was stopped; nothing is left behind."), text[-2000:]
    assert "Traceback" not in text, text
    assert "Unclosed" not in text, text
    assert list(scratch.iterdir()) == []


def test_the_version_is_answered_without_importing_the_bot() -> None:
    """`--version` (and a container's first second) must not wait for SQLAlchemy and aiohttp to import."""
    heavy = "{'sqlalchemy', 'aiohttp', 'slack_bolt'}"
    probe = f"import sys, bot.__main__; print(sorted({heavy} & sys.modules.keys()))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
    version = _run("--version", env=_env())
    assert version.returncode == 0, version
    assert version.stdout.startswith("ecs-reset-bot "), version


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_bot_is_still_importing_stops_it_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """As process 1 a container may be stopped in its first second: exit 0, no traceback, not 143.

    `-X importtime` prints each import as it finishes; the signal goes as soon as `click` is imported (the
    handlers are installed before it), while the configuration's heavy imports are still running."""
    env = _env(
        BOT_CONFIG=str(DEMO_TARGETS),
        SLACK_BOT_TOKEN="xoxb-1-never-used",
        SLACK_APP_TOKEN="xapp-1-never-used",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        BOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.rstrip().endswith("| click"):
                proc.send_signal(sig)
                break
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(seen) + rest
    assert proc.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "KeyboardInterrupt" not in output, output[-3000:]
    assert "| bot.config.loading" not in output, "the signal should have arrived during the imports"


@pytest.mark.parametrize("args", [("-h",), ("--help",), ("doctor", "-h"), ("run", "-h"), ("simulator", "-h")])
def test_help_answers_to_both_spellings(args: tuple[str, ...]) -> None:
    result = _run(*args, env=_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: "), result.stdout
