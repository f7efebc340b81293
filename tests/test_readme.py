"""The README's recipes work as written: an operator copies them, so a test runs them."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from bot.config import load_app_config
from bot.doctor import checks, run_checks
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, Simulator
from bot.slack import ids
from bot.slack.commands import SUB_COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def _recipe(marker: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```bash\n(.*?)```", text, re.S)
    assert found, f"README.md has no {marker} block"
    return found.group(1)


def _exports(block: str) -> dict[str, str]:
    exported: dict[str, str] = {}
    for line in block.splitlines():
        words = shlex.split(line.partition("#")[0])
        if words[:1] == ["export"]:
            exported.update(w.split("=", 1) for w in words[1:])  # type: ignore[misc]
    return exported


def test_the_sub_command_list_names_exactly_the_bot_s_words() -> None:
    # Written by hand: the README's list must name every word the bot answers to, in the bot's order.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("Sub-commands: ")]
    named = [code.removeprefix(f"{ids.COMMAND} ").split()[0] for code in re.findall(r"`([^`]+)`", line)]
    assert named == list(SUB_COMMANDS)


def test_the_simulator_recipe_names_the_simulators_own_credentials() -> None:
    exported = _exports(_recipe("simulator-recipe"))
    assert exported["DEMO_ACCESS_KEY"] == DEMO_ACCESS_KEY
    assert exported["DEMO_SECRET_KEY"] == DEMO_SECRET_KEY
    assert exported["DEMO_IAM_USER"] == DEMO_USER.name
    assert exported["DEMO_IAM_PASSWORD"] == DEMO_USER.password
    assert "python -m bot simulator --port 8900" in _recipe("simulator-recipe")
    assert exported["BOT_SIMULATOR_URL"] == "http://127.0.0.1:8900"


async def test_the_copied_demo_targets_reach_a_running_simulator(tmp_path: Path) -> None:
    """What `doctor` checks per target passes for both targets of the copied file, with the exports."""
    simulator = Simulator()
    url = await simulator.start()
    try:
        targets = tmp_path / "targets.yml"
        shutil.copy(ROOT / "bot" / "demo_targets.yml", targets)
        env = {
            **_exports(_recipe("simulator-recipe")),
            "BOT_SIMULATOR_URL": url,  # the recipe's port 8900 may be taken here; any port is the same recipe
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "BOT_CONFIG": str(targets),
            "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        }
        config = load_app_config(env, register_secrets=False)
        assert {t.ecs_endpoint.rstrip("/") for t in config.bot.targets} == {url}
        async with aiohttp.ClientSession() as session:
            todo = [c for c in checks(config, session) if c.name.startswith("target ")]
            outcomes = await run_checks(todo)
        assert [(o.check.name, o.ok) for o in outcomes] == [
            ("target demo-aksk", True),
            ("target demo-iam", True),
        ], [o.line() for o in outcomes]
    finally:
        await simulator.stop()
