"""manifest.yml is what operators paste into Slack: it must be valid and grant exactly what the bot uses."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack.commands import SUB_COMMANDS
from bot.slack.inspection import BOT_SCOPES

REPO = Path(__file__).resolve().parents[1]
# shared/ sits beside the repository: /work/shared next to /work/main, and <clone>/../shared in CI.
SCHEMA = REPO.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"
EVENTS_URL = "https://bot.example.com/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def load_schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        message = f"Slack manifest schema not found at {SCHEMA}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI must provide shared/ beside the repository)")
        pytest.skip(message)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def test_manifest_is_valid_against_the_offline_schema(manifest: dict[str, Any]) -> None:
    schema = load_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_display_information(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]
    assert display["name"] == "ECS Password Reset"
    # The schema spells this rule "regex", which JSON Schema ignores, so check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", display["background_color"])
    assert manifest["features"]["bot_user"]["display_name"]


def test_slash_command(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/reset-ecs-password"
    assert command["url"] == EVENTS_URL
    assert command["description"]


def test_usage_hint_names_exactly_the_sub_commands(manifest: dict[str, Any]) -> None:
    # Written by hand (operators paste this file into Slack): it must name every word the bot answers to,
    # in the bot's order, and then the request form's server names.
    (command,) = manifest["features"]["slash_commands"]
    *choices, form = command["usage_hint"].strip("[]").split(" | ")
    assert [choice.split()[0] for choice in choices] == list(SUB_COMMANDS)
    assert form == "server names…"


def test_scopes_are_exactly_the_minimal_set(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    runtime = ["commands", "chat:write", "im:write", "usergroups:read"]
    assert sorted(scopes["bot"]) == sorted([*runtime, "channels:read", "groups:read", "users:read"])
    # doctor compares the token's scopes with the bot's own list: the manifest must grant exactly that.
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert "user" not in scopes


def test_interactivity_and_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": EVENTS_URL,
        "message_menu_options_url": EVENTS_URL,
    }
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_missing_schema_fails_in_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SCHEMA", tmp_path / "absent.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        load_schema()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        load_schema()


def test_each_scope_has_its_reason_in_the_readme(manifest: dict[str, Any]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert re.search(rf"^\s*\| `{re.escape(scope)}` \| \S", readme, re.MULTILINE), scope
    setup = readme.split("## Setting it up in a workspace", 1)[1].split("\n## ", 1)[0]
    assert "/invite @ECS Password Reset" in setup
    assert "audit channel" in setup


def test_examples_refer_only_to_files_in_the_repository() -> None:
    for example in (REPO / "examples").iterdir():
        text = example.read_text(encoding="utf-8")
        for name in re.findall(r"\b[\w./-]+\.(?:md|yml|yaml|py|toml|lock)\b", text):
            assert (REPO / name).exists() or (REPO / "examples" / name).exists(), f"{example.name}: {name}"


def test_user_group_and_home_events_are_subscribed(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == EVENTS_URL
    assert sorted(events["bot_events"]) == ["app_home_opened", "subteam_members_changed", "subteam_updated"]


def test_home_tab_is_enabled(manifest: dict[str, Any]) -> None:
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True  # the DMs with the password and the Reveal offer


def test_shortcuts_match_the_listeners(manifest: dict[str, Any]) -> None:
    from bot.slack import ids

    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[ids.GLOBAL_SHORTCUT]["type"] == "global"
    assert shortcuts[ids.GLOBAL_SHORTCUT]["name"] == "Reset ECS passwords"
    assert shortcuts[ids.MESSAGE_SHORTCUT]["type"] == "message"
    assert shortcuts[ids.MESSAGE_SHORTCUT]["name"] == "Reset servers in message"  # 24 characters at most
    assert shortcuts[ids.MESSAGE_SHORTCUT]["description"].startswith(
        "Reset passwords of servers in this message"
    )
