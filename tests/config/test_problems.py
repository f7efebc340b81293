"""Every mistake in a targets file is reported, all at once, each with its path and what to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from config_files import ENV, only_problem, problems, target

from bot.config import ConfigError, load_config


@pytest.mark.parametrize(
    ("overrides", "path", "hint"),
    [
        ({"cloud": "aws"}, "targets[0].cloud", "otc or huaweicloud"),
        ({"project_id": "xyz"}, "targets[0].project_id", "32 hexadecimal"),
        ({"project_id": ...}, "targets[0].project_id", "required"),
        ({"approvers": []}, "targets[0].approvers", "non-empty list"),
        ({"approvers": ["bob"]}, "targets[0].approvers[0]", "user-group handles or user IDs"),
        ({"requesters": ["@oncall", "#general"]}, "targets[0].requesters[1]", "user IDs"),
        ({"requesters": ["U012ABCDEF", "U012ABCDEF"]}, "targets[0].requesters", "listed twice"),
        ({"approvals_required": 0}, "targets[0].approvals_required", "at least 1"),
        ({"approvers": ["U1AAA"], "approvals_required": 2}, "targets[0]", "only 1 approver"),
        ({"approvers_channel": "#sre"}, "targets[0].approvers_channel", "channel ID"),
        ({"request_ttl": "1 hour"}, "targets[0].request_ttl", "30m, 1h"),
        ({"request_ttl": "0s"}, "targets[0].request_ttl", "more than zero"),
        ({"reminder_after": "2h"}, "targets[0]", "shorter than request_ttl"),
        ({"reason_pattern": "[A-"}, "targets[0].reason_pattern", "regular expression"),
        ({"break_glass": {"allowed": []}}, "targets[0].break_glass.allowed", "at least one user ID"),
        ({"break_glass": {"allowed": ["bob"]}}, "targets[0].break_glass.allowed[0]", "user IDs"),
        ({"break_glass": {"allowed": ["@ic", "@ic"]}}, "targets[0].break_glass.allowed", "listed twice"),
        ({"break_glass": {"allowed": ["@ic"], "cooldown": "1 day"}}, "targets[0].break_glass.cooldown", "1h"),
        (
            {"break_glass": {"allowed": ["@ic"], "review_within": 0}},
            "targets[0].break_glass.review_within",
            "zero",
        ),
        (
            {"break_glass": {"allowed": ["@ic"], "coldown": "1h"}},
            "targets[0].break_glass.coldown",
            "did you mean cooldown",
        ),
        ({"break_glass": {"cooldown": "1h"}}, "targets[0].break_glass.allowed", "required"),
        ({"break_glass": True}, "targets[0].break_glass", "review_within"),
        ({"requestors": []}, "targets[0].requestors", "did you mean requesters"),
        ({"ecs_endpoint": "ecs.eu-de"}, "targets[0].ecs_endpoint", "https://"),
        ({"name": "prod eu"}, "targets[0].name", "unique name"),
        ({"auth": {"type": "token"}}, "targets[0].auth", "type: aksk"),
        ({"auth": {"access_key_env": "OTC_AK"}}, "targets[0].auth", "type: aksk"),
        (
            {"auth": {"type": "aksk", "access_key_env": "OTC_AK", "secret_key_env": "MISSING_SK"}},
            "targets[0].auth.secret_key_env",
            "MISSING_SK is not set",
        ),
        (
            {"auth": {"type": "aksk", "access_key_env": "OTC_AK", "secret_key": "literal"}},
            "targets[0].auth.secret_key",
            "did you mean secret_key_env",
        ),
        (
            {"auth": {"type": "password", "user_env": "OTC_USER", "password_env": "OTC_PASSWORD"}},
            "targets[0].auth.domain",
            "account (domain) name",
        ),
        (
            {"auth": {"type": "aksk", "access_key_env": "otc-ak", "secret_key_env": "OTC_SK"}},
            "targets[0].auth.access_key_env",
            "NAME of the environment variable",
        ),
    ],
)
def test_each_mistake_has_path_and_hint(
    tmp_path: Path, overrides: dict[str, Any], path: str, hint: str
) -> None:
    found = only_problem(tmp_path, {"targets": [target(**overrides)]})
    assert found.split(": ", 2)[1] == path, found
    assert hint in found, found


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    found = only_problem(tmp_path, {"targets": [target()]}, environ={**ENV, "OTC_SK": ""})
    assert "targets[0].auth.secret_key_env" in found
    assert "OTC_SK" in found


def test_all_errors_at_once_across_targets(tmp_path: Path) -> None:
    data = {
        "targets": [
            target(cloud="gcp"),
            target(name="b", approvers_channel="general", request_ttl="forever"),
            target(name="c", auth={"type": "aksk", "access_key_env": "A_UNSET", "secret_key_env": "B_UNSET"}),
        ]
    }
    found = problems(tmp_path, data)
    text = "\n".join(found)
    for expected in (
        "targets[0].cloud",
        "targets[1].approvers_channel",
        "targets[1].request_ttl",
        "targets[2].auth.access_key_env",
        "targets[2].auth.secret_key_env",
        "A_UNSET",
        "B_UNSET",
    ):
        assert expected in text
    # A wrong cloud does not also produce "endpoint required" noise.
    assert "targets[0].ecs_endpoint" not in text
    assert len(found) == 5


def test_duplicate_names(tmp_path: Path) -> None:
    found = only_problem(tmp_path, {"targets": [target(), target()]})
    assert "targets: " in found
    assert "unique" in found
    assert "prod-eu-de" in found


def test_top_level_mistakes(tmp_path: Path) -> None:
    assert "target: unknown key; did you mean targets?" in only_problem(tmp_path, {"target": []})
    found = problems(tmp_path, {"servers": []})
    assert "targets: required" in found[0]
    assert "servers: unknown key; known keys here: targets" in found[1]
    assert "targets" in only_problem(tmp_path, {"targets": []})
    assert "the top level must be `targets:` followed by a list of targets, found a list" in only_problem(
        tmp_path, "- a\n- b\n"
    )
    assert "the file is empty" in only_problem(tmp_path, "")


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    text = "targets:\n  - name: a\n    cloud: [otc\n    region: eu-de\n"
    found = only_problem(tmp_path, text)
    assert "targets.yml: line " in found
    line = int(found.split("targets.yml: line ")[1].split(",")[0])
    assert 3 <= line <= 5


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = "targets:\n  - name: a\n    name: b\n"
    found = only_problem(tmp_path, text)
    assert "targets.yml: line 3, column 5: key 'name' is written twice; keep one" in found
    assert "'name' is written twice" in found


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yml", environ=ENV)
    assert "file not found" in str(info.value)
    assert "BOT_CONFIG" in str(info.value)


def test_config_error_str_lists_every_problem() -> None:
    text = str(ConfigError(["a: one", "b: two"]))
    assert text == "2 configuration problems:\n  - a: one\n  - b: two"
