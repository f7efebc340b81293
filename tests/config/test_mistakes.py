"""Mistakes an operator makes before the validators can help: YAML syntax, misspelt variables, the mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, load_app_config, load_config

AKSK = "{type: aksk, access_key_env: AK, secret_key_env: SK}"
GOOD = f"""\
targets:
  - name: prod
    cloud: otc
    region: eu-de
    project_id: 0123456789abcdef0123456789abcdef
    auth: {AKSK}
    approvers: [U034GHIJKL]
    approvers_channel: C0123456789
"""
CREDENTIALS = {"AK": "ak-value", "SK": "sk-value-secret"}


def the_problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "targets.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=CREDENTIALS)
    [problem] = info.value.problems
    return problem.removeprefix(f"{path}: ")


def test_the_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_config(path, environ=CREDENTIALS).targets[0].name == "prod"


def test_a_tab_is_named_with_its_line(tmp_path: Path) -> None:
    found = the_problem(tmp_path, GOOD.replace("    region: eu-de", "\tregion: eu-de"))
    assert found.startswith("line 4, column 1: a tab character; YAML indents with spaces only"), found
    assert "cannot start any token" not in found


def test_an_empty_file_says_what_to_write(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        found = the_problem(tmp_path, text)
        assert found.startswith("the file is empty"), found
        assert "targets:" in found
        assert "NoneType" not in found


@pytest.mark.parametrize(
    ("broken", "line"),
    [
        (GOOD.replace("    region: eu-de", "   region: eu-de"), 4),  # one space short
        (GOOD.replace("    region: eu-de", "  region: eu-de"), 4),  # back at the list's column
        (GOOD.replace("    region: eu-de", "       region: eu-de"), 4),  # too deep
    ],
)
def test_bad_indentation_is_explained_with_the_line(tmp_path: Path, broken: str, line: int) -> None:
    found = the_problem(tmp_path, broken)
    assert found.startswith(f"line {line}, column "), found
    assert "indented" in found, found


def test_a_colon_in_a_value_and_an_open_quote(tmp_path: Path) -> None:
    found = the_problem(tmp_path, GOOD + "    reason_pattern: OPS: [0-9]+\n")
    assert "line 9" in found
    assert "contains ': ' and must be put in quotes" in found
    found = the_problem(tmp_path, GOOD.replace("name: prod", 'name: "prod'))
    assert found.startswith("line 2: a quote opened on line 2 is never closed"), found


def run_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD, encoding="utf-8")
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "BOT_CONFIG": str(path),
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        **CREDENTIALS,
        **extra,
    }


def test_a_misspelt_variable_is_named_with_the_right_one(tmp_path: Path) -> None:
    env = run_environment(tmp_path)
    env["SLACK_BOT_TOKNE"] = env.pop("SLACK_BOT_TOKEN")
    with pytest.raises(ConfigError) as info:
        load_app_config(env, register_secrets=False)
    text = str(info.value)
    assert "SLACK_BOT_TOKNE: set, but the bot reads no such variable; did you mean SLACK_BOT_TOKEN?" in text
    assert "SLACK_BOT_TOKEN: not set" in text

    # Even with everything else right: a typo in an optional setting must not pass silently.
    with pytest.raises(ConfigError) as info:
        load_app_config(run_environment(tmp_path, BOT_LOG_LEVLE="DEBUG"), register_secrets=False)
    assert info.value.problems == [
        "BOT_LOG_LEVLE: set, but the bot reads no such variable; did you mean BOT_LOG_LEVEL? "
        "(rename it, or unset it if it is meant for something else)"
    ]


def test_unrelated_variables_are_left_alone(tmp_path: Path) -> None:
    env = run_environment(
        tmp_path, SLACK_CLIENT_ID="123.456", BOT_SIMULATOR_URL="http://x", HTTP_PORT="1", bot_log_level="INFO"
    )
    load_app_config(env, register_secrets=False)


def test_no_mode_chosen_points_to_the_readme_setup_not_http(tmp_path: Path) -> None:
    env = run_environment(tmp_path)
    del env["SLACK_APP_TOKEN"]
    with pytest.raises(ConfigError) as info:
        load_app_config(env, register_secrets=False)
    [problem] = info.value.problems
    assert problem.startswith("SLACK_APP_TOKEN: not set; for Socket Mode (the README's setup)"), problem
    assert "connections:write" in problem

    with pytest.raises(ConfigError) as info:
        load_app_config({**env, "BOT_MODE": "http"}, register_secrets=False)
    [problem] = info.value.problems
    assert problem.startswith("SLACK_SIGNING_SECRET: not set but BOT_MODE is http"), problem

    with pytest.raises(ConfigError) as info:
        load_app_config({**env, "BOT_MODE": "socket"}, register_secrets=False)
    [problem] = info.value.problems
    assert problem.startswith("SLACK_APP_TOKEN: not set but BOT_MODE is socket"), problem


def test_a_bad_value_does_not_hide_the_targets_file_problems(tmp_path: Path) -> None:
    env = run_environment(tmp_path, BOT_HTTP_PORT="99999")
    Path(env["BOT_CONFIG"]).write_text(GOOD.replace("    cloud: otc", "\tcloud: otc"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_app_config(env, register_secrets=False)
    text = str(info.value)
    assert "BOT_HTTP_PORT" in text
    assert "a tab character" in text


def _problems_of(tmp_path: Path, **env: str) -> list[str]:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_app_config({**CREDENTIALS, "BOT_CONFIG": str(path), **env})
    return info.value.problems


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BOT_HTTP_PORT", "99999", "BOT_HTTP_PORT: '99999' is out of range; write a number from 1 to 65535"),
        ("BOT_METRICS_PORT", "0", "BOT_METRICS_PORT: '0' is out of range; write a number from 1 to 65535"),
        ("BOT_HTTP_PORT", "http", "BOT_HTTP_PORT: 'http' is not a whole number"),
        (
            "BOT_ECS_CONCURRENCY",
            "0",
            "BOT_ECS_CONCURRENCY: '0' is out of range; write a number from 1 to 500",
        ),
        ("BOT_LOG_FORMAT", "xml", "BOT_LOG_FORMAT: 'xml' is not one of 'text' or 'json'"),
    ],
)
def test_a_bad_value_is_worded_plainly_and_hides_no_missing_setting(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    """One run lists everything: a port out of range does not hide the missing tokens and key."""
    problems = _problems_of(tmp_path, **{variable: value})
    assert problems[0] == says
    assert any(p.startswith("SLACK_BOT_TOKEN: not set") for p in problems), problems
    assert any(p.startswith("SLACK_APP_TOKEN: not set") for p in problems), problems
    assert any(p.startswith("BOT_SECRET_KEY: not set") for p in problems), problems
    assert not any("Input should be" in p for p in problems), problems


def test_a_bad_mode_does_not_pick_a_setup_for_the_operator(tmp_path: Path) -> None:
    problems = _problems_of(tmp_path, BOT_MODE="sockets", SLACK_BOT_TOKEN="xoxb-1")
    assert problems[0] == "BOT_MODE: 'sockets' is not one of 'socket' or 'http'; did you mean socket?"
    assert not any("but BOT_MODE is http" in p for p in problems), problems


def test_a_long_value_in_the_wrong_variable_is_never_echoed(tmp_path: Path) -> None:
    """A token pasted into BOT_HTTP_PORT must not be printed to a log collector."""
    token = "xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx"
    problems = _problems_of(tmp_path, BOT_HTTP_PORT=token)
    assert "BOT_HTTP_PORT: the value is not a whole number" in problems
    assert token not in "\n".join(problems)


def test_a_channel_name_where_an_id_belongs_says_where_to_find_the_id(tmp_path: Path) -> None:
    problems = _problems_of(tmp_path, BOT_AUDIT_CHANNEL="#audit")
    assert problems[0] == (
        "BOT_AUDIT_CHANNEL: '#audit' has the wrong form; write a channel ID (not its name), e.g. "
        "C0123456789: channel details, at the bottom"
    )


def test_a_folder_as_the_targets_file_is_named_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ=CREDENTIALS)
    assert info.value.problems == [f"{tmp_path}: a folder; set BOT_CONFIG to the targets YAML file itself"]


def test_a_project_id_yaml_reads_as_a_number_says_to_quote_it(tmp_path: Path) -> None:
    text = GOOD.replace("project_id: 0123456789abcdef0123456789abcdef", "project_id: 0123")
    assert the_problem(tmp_path, text).startswith(
        "targets[0].project_id: YAML read this as a number; put it in quotes"
    )


def test_a_slack_url_without_its_scheme_gets_no_cloud_example(tmp_path: Path) -> None:
    problems = _problems_of(tmp_path, SLACK_API_URL="127.0.0.1:38902/api")
    [line] = [p for p in problems if p.startswith("SLACK_API_URL")]
    assert "write it with its scheme and host" in line
    assert "otc" not in line


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"SLACK_BOT_TOKEN": "xapp-1-A0-canary", "SLACK_APP_TOKEN": "xoxb-1-2-canary"},
            ["SLACK_BOT_TOKEN: this is an app-level token", "SLACK_APP_TOKEN: this is the bot token"],
        ),
        ({"SLACK_BOT_TOKEN": "xoxp-1-2-canary"}, ["SLACK_BOT_TOKEN: this is a user token"]),
        ({"SLACK_BOT_TOKEN": '"xoxb-1-2-canary"'}, ["SLACK_BOT_TOKEN: written with quotes around it"]),
        (  # README's step 6 copied as it stands
            {"SLACK_BOT_TOKEN": "xoxb-…", "SLACK_APP_TOKEN": "xapp-canary..."},
            [
                "SLACK_BOT_TOKEN: still the placeholder of the README's example",
                "SLACK_APP_TOKEN: still the placeholder of the README's example",
            ],
        ),
        (
            {"SLACK_SIGNING_SECRET": "xoxb-1-2-canary", "BOT_MODE": "http"},
            ["SLACK_SIGNING_SECRET: this is a token"],
        ),
    ],
    ids=["swapped", "user-token", "quoted", "placeholder", "token-as-signing-secret"],
)
def test_a_token_in_the_wrong_form_is_named_before_slack_is_asked(
    tmp_path: Path, env: dict[str, str], says: list[str]
) -> None:
    problems = _problems_of(tmp_path, **env)
    for sentence in says:
        assert any(p.startswith(sentence) for p in problems), problems
    assert "canary" not in "\n".join(problems)


def test_blanks_around_a_token_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD, encoding="utf-8")
    env = {**CREDENTIALS, "BOT_CONFIG": str(path), "BOT_SECRET_KEY": Fernet.generate_key().decode()}
    config = load_app_config({**env, "SLACK_BOT_TOKEN": " xoxb-1-2 \n", "SLACK_APP_TOKEN": "xapp-1-A0 "})
    assert config.settings.slack_bot_token is not None
    assert config.settings.slack_bot_token.get_secret_value() == "xoxb-1-2"


def test_one_port_for_both_listeners_is_a_configuration_problem(tmp_path: Path) -> None:
    problems = _problems_of(tmp_path, BOT_HTTP_PORT="3000", BOT_METRICS_PORT="3000")
    assert any(p.startswith("BOT_METRICS_PORT: the same as BOT_HTTP_PORT (3000)") for p in problems), problems
