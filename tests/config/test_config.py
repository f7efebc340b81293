"""Config: valid files load, every mistake is reported with its path and a hint, secrets stay hidden."""

from __future__ import annotations

import base64
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import (
    AkSkAuth,
    BotConfig,
    ConfigError,
    Endpoints,
    PasswordAuth,
    default_endpoints,
    load_app_config,
    load_config,
    load_settings,
    parse_duration,
)
from bot.logs import forget_secret, redact

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_TARGETS = Path(__file__).resolve().parents[2] / "bot" / "demo_targets.yml"
FERNET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
AK_SECRET = "AKIA-canary-access"
SK_SECRET = "sk-canary-Secret-1234"
IAM_PASSWORD = "iam-canary-Passw0rd"

ENV = {
    "OTC_AK": AK_SECRET,
    "OTC_SK": SK_SECRET,
    "OTC_USER": "svc-reset",
    "OTC_PASSWORD": IAM_PASSWORD,
}


def target(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "prod-eu-de",
        "cloud": "otc",
        "region": "eu-de",
        "project_id": "0123456789abcdef0123456789abcdef",
        "auth": {"type": "aksk", "access_key_env": "OTC_AK", "secret_key_env": "OTC_SK"},
        "requesters": ["@oncall", "U012ABCDEF"],
        "approvers": ["@sre-leads", "U034GHIJKL"],
        "approvals_required": 1,
        "approvers_channel": "C0123456789",
        "request_ttl": "1h",
        "reason_pattern": "^[A-Z]+-[0-9]+",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def problems(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data), environ=ENV if environ is None else environ)
    return info.value.problems


def only_problem(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> str:
    found = problems(tmp_path, data, environ)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------------------------- valid files


def test_design_md_example_loads(tmp_path: Path) -> None:
    """The exact YAML of DESIGN.md's contract loads unchanged."""
    text = textwrap.dedent(
        """\
        targets:
          - name: prod-eu-de
            cloud: otc            # otc | huaweicloud: picks default endpoints
            region: eu-de
            project_id: 0123456789abcdef0123456789abcdef
            ecs_endpoint: https://ecs.eu-de.otc.t-systems.com   # optional override
            iam_endpoint: https://iam.eu-de.otc.t-systems.com   # optional override
            auth: {type: aksk, access_key_env: OTC_AK, secret_key_env: OTC_SK}
            # or {type: password, user_env: OTC_USER, password_env: OTC_PASSWORD, domain: OTC0001}
            requesters: ["@oncall", U012ABCDEF]     # user-group handles or user IDs; empty = anyone
            approvers: ["@sre-leads", U034GHIJKL]
            approvals_required: 1
            approvers_channel: C0123456789
            request_ttl: 1h
            reason_pattern: "^[A-Z]+-[0-9]+"         # optional
            break_glass:                             # optional; absent = off
              allowed: ["@incident-commanders"]
              cooldown: 24h
              review_within: 24h
        """
    )
    config = load_config(write(tmp_path, text), environ=ENV)
    t = config.target("prod-eu-de")
    assert t.cloud == "otc"
    assert t.ecs_endpoint == "https://ecs.eu-de.otc.t-systems.com"
    assert isinstance(t.auth, AkSkAuth)
    assert t.auth.access_key.get_secret_value() == AK_SECRET
    assert t.auth.secret_key.get_secret_value() == SK_SECRET
    assert t.request_ttl == timedelta(hours=1)
    assert t.requester_principals.group_handles == {"oncall"}
    assert t.requester_principals.user_ids == {"U012ABCDEF"}
    assert t.approver_principals.group_handles == {"sre-leads"}
    assert t.reason_pattern == "^[A-Z]+-[0-9]+"  # the workflow applies it (tests/workflow/test_submit.py)
    # Defaults of the extensions.
    assert t.max_servers == 1000
    assert t.allow_per_server_passwords is True
    assert t.reminder_after is None
    assert t.break_glass is not None
    assert t.break_glass.principals.group_handles == {"incident-commanders"}
    assert t.break_glass.cooldown == timedelta(hours=24)
    assert t.break_glass.review_within == timedelta(hours=24)


def test_password_auth_and_defaults(tmp_path: Path) -> None:
    auth = {"type": "password", "user_env": "OTC_USER", "password_env": "OTC_PASSWORD", "domain": "OTC0001"}
    data = {"targets": [target(auth=auth, requesters=..., approvals_required=..., request_ttl=...)]}
    t = load_config(write(tmp_path, data), environ=ENV).targets[0]
    assert isinstance(t.auth, PasswordAuth)
    assert t.auth.user.get_secret_value() == "svc-reset"
    assert t.auth.password.get_secret_value() == IAM_PASSWORD
    assert t.auth.domain == "OTC0001"
    assert t.requesters == []
    assert t.approvals_required == 1
    assert t.request_ttl == timedelta(hours=1)


@pytest.mark.parametrize("path", [EXAMPLES / "targets.yml", DEMO_TARGETS])
def test_examples_load(path: Path) -> None:
    env = {
        **ENV,
        "OTC_CH_USER": "u",
        "OTC_CH_PASSWORD": "p" * 8,
        "HWC_AK": "a",
        "HWC_SK": "s" * 8,
        "DEMO_ACCESS_KEY": "a",
        "DEMO_SECRET_KEY": "s" * 8,
        "DEMO_IAM_USER": "u",
        "DEMO_IAM_PASSWORD": "p" * 8,
    }
    config = load_config(path, environ=env)
    assert len({t.name for t in config.targets}) == len(config.targets)


def test_demo_endpoints_follow_simulator_url() -> None:
    env = {"DEMO_ACCESS_KEY": "a", "DEMO_SECRET_KEY": "s", "DEMO_IAM_USER": "u", "DEMO_IAM_PASSWORD": "p"}
    default = load_config(DEMO_TARGETS, environ=env)
    assert [t.name for t in default.targets] == ["demo-aksk", "demo-iam"]
    assert {t.auth.type for t in default.targets} == {"aksk", "password"}
    assert default.targets[0].ecs_endpoint == "http://127.0.0.1:8900"
    moved = load_config(DEMO_TARGETS, environ={**env, "BOT_SIMULATOR_URL": "http://127.0.0.1:54321/"})
    for t in moved.targets:
        assert t.ecs_endpoint == t.iam_endpoint == "http://127.0.0.1:54321"


# ---------------------------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize(
    ("cloud", "region", "ecs", "iam"),
    [
        ("otc", "eu-de", "https://ecs.eu-de.otc.t-systems.com", "https://iam.eu-de.otc.t-systems.com"),
        ("otc", "eu-nl", "https://ecs.eu-nl.otc.t-systems.com", "https://iam.eu-nl.otc.t-systems.com"),
        (
            "otc",
            "eu-ch2",
            "https://ecs.eu-ch2.sc.otc.t-systems.com",
            "https://iam-pub.eu-ch2.sc.otc.t-systems.com",
        ),
        (
            "huaweicloud",
            "ap-southeast-1",
            "https://ecs.ap-southeast-1.myhuaweicloud.com",
            "https://iam.ap-southeast-1.myhuaweicloud.com",
        ),
    ],
)
def test_default_endpoints(cloud: str, region: str, ecs: str, iam: str, tmp_path: Path) -> None:
    assert default_endpoints(cloud, region) == Endpoints(ecs, iam)
    t = load_config(write(tmp_path, {"targets": [target(cloud=cloud, region=region)]}), environ=ENV).targets[
        0
    ]
    assert (t.ecs_endpoint, t.iam_endpoint) == (ecs, iam)


def test_unknown_otc_region_needs_endpoints(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="eu-de, eu-nl, eu-ch2"):
        default_endpoints("otc", "eu-xx")
    found = problems(tmp_path, {"targets": [target(region="eu-xx")]})
    assert [p.split(": ")[1] for p in found] == ["targets[0].ecs_endpoint", "targets[0].iam_endpoint"]
    assert "no default endpoint" in found[0]
    ok = target(region="eu-xx", ecs_endpoint="https://ecs.example", iam_endpoint="https://iam.example/")
    t = load_config(write(tmp_path, {"targets": [ok]}), environ=ENV).targets[0]
    assert (t.ecs_endpoint, t.iam_endpoint) == ("https://ecs.example", "https://iam.example")


def test_override_one_endpoint_keeps_other_default(tmp_path: Path) -> None:
    t = load_config(
        write(tmp_path, {"targets": [target(ecs_endpoint="http://proxy:8080/ecs")]}), environ=ENV
    ).targets[0]
    assert t.ecs_endpoint == "http://proxy:8080/ecs"
    assert t.iam_endpoint == "https://iam.eu-de.otc.t-systems.com"


def test_endpoint_env_reference_unset(tmp_path: Path) -> None:
    found = only_problem(tmp_path, {"targets": [target(ecs_endpoint="${NOPE_URL}")]})
    assert "targets[0].ecs_endpoint" in found
    assert "NOPE_URL is not set" in found


# ---------------------------------------------------------------------------------------------- mistakes


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


# ---------------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("2h30m", 9000), ("90s", 90), ("1d", 86400), ("1H 5M", 3900), (45, 45)],
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1 hour", "h", "5x", "-5m", "0", "1h-5m", True, None, [1]])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# ---------------------------------------------------------------------------------------------- secrets


def test_secrets_never_in_repr_or_str(tmp_path: Path) -> None:
    auth_pw = {"type": "password", "user_env": "OTC_USER", "password_env": "OTC_PASSWORD", "domain": "D"}
    config = load_config(
        write(tmp_path, {"targets": [target(), target(name="b", auth=auth_pw)]}), environ=ENV
    )
    shown = " ".join(
        [
            repr(config),
            str(config),
            config.model_dump_json(),
            str(config.model_dump()),
            repr(config.targets[1]),
        ]
    )
    for secret in (AK_SECRET, SK_SECRET, IAM_PASSWORD):
        assert secret not in shown
    assert {s.get_secret_value() for s in config.secrets()} == {SK_SECRET, IAM_PASSWORD}


def test_yaml_cannot_smuggle_secrets(tmp_path: Path) -> None:
    """Secrets are only read from the environment; a private attribute in YAML is an unknown key."""
    auth = {"type": "aksk", "access_key_env": "OTC_AK", "secret_key_env": "OTC_SK", "_secret_key": "x"}
    assert "targets[0].auth._secret_key" in only_problem(tmp_path, {"targets": [target(auth=auth)]})


def test_bot_config_validates_without_context_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    config = BotConfig.model_validate({"targets": [target()]})
    assert isinstance(config.targets[0].auth, AkSkAuth)
    assert config.targets[0].auth.secret_key.get_secret_value() == SK_SECRET


# ---------------------------------------------------------------------------------------------- settings


def test_settings_defaults() -> None:
    s = load_settings({})
    assert s.mode == "http"
    assert s.http_port == 3000
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_url == "sqlite+aiosqlite:///./data/ecs-reset-bot.sqlite3"
    assert s.log_level == "INFO"
    assert s.log_format == "text"
    assert s.reveal_ttl == timedelta(minutes=15)
    assert s.ecs_concurrency == 20
    assert s.audit_channel is None
    assert s.config_path is None


def test_settings_parse_environment() -> None:
    s = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
            "SLACK_APP_TOKEN": "xapp-1-A-abc",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "BOT_HTTP_PORT": "8080",
            "BOT_DATABASE_URL": "postgresql+asyncpg://u:p@db/bot",
            "BOT_CONFIG": "/etc/bot/targets.yml",
            "BOT_SECRET_KEY": FERNET_KEY,
            "bot_log_level": "debug",
            "BOT_LOG_FORMAT": "JSON",
            "BOT_REVEAL_TTL": "5m",
            "BOT_ECS_CONCURRENCY": "7",
            "BOT_AUDIT_CHANNEL": "C0AUDIT",
            "UNRELATED": "x",
        }
    )
    assert s.mode == "socket"  # SLACK_APP_TOKEN is set
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"
    assert s.http_port == 8080
    assert s.database_url.startswith("postgresql+asyncpg://")
    assert s.config_path == Path("/etc/bot/targets.yml")
    assert s.secret_key is not None
    assert s.secret_key.get_secret_value() == FERNET_KEY
    assert s.log_level == "DEBUG"
    assert s.log_format == "json"
    assert s.reveal_ttl == timedelta(minutes=5)
    assert s.ecs_concurrency == 7
    assert s.audit_channel == "C0AUDIT"


def test_settings_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A-abc")
    monkeypatch.setenv("bot_http_port", "3100")  # names are case-insensitive
    monkeypatch.setenv("BOT_LOG_FORMAT", "")  # empty is unset
    assert load_settings().mode == "socket"
    assert load_settings().http_port == 3100
    assert load_settings().log_format == "text"
    monkeypatch.setenv("BOT_MODE", "http")
    assert load_settings().mode == "http"


def test_settings_errors_name_variables() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "BOT_MODE": "websocket",
                "BOT_HTTP_PORT": "http",
                "BOT_SECRET_KEY": "not-a-key",
                "BOT_LOG_FORMAT": "xml",
                "BOT_REVEAL_TTL": "soon",
                "BOT_DATABASE_URL": "mysql://x",
            }
        )
    text = str(info.value)
    for name in ("BOT_MODE", "BOT_HTTP_PORT", "BOT_SECRET_KEY", "BOT_LOG_FORMAT", "BOT_REVEAL_TTL"):
        assert f"{name}: " in text
    assert "Fernet" in text
    assert "not-a-key" not in text
    assert "BOT_DATABASE_URL: must start with" in text


@pytest.mark.parametrize(
    "url", ["sqlite:///./data/bot.sqlite3", "postgres://u:p@db/bot", "postgresql://u:p@db/bot"]
)
def test_settings_accept_the_database_urls_the_store_opens(url: str) -> None:
    """One rule for both: what the store reads as its async driver, settings do not refuse."""
    assert load_settings({"BOT_DATABASE_URL": url}).database_url == url


def test_settings_refuse_a_database_url_that_is_no_url() -> None:
    with pytest.raises(ConfigError, match="BOT_DATABASE_URL: must start with"):
        load_settings({"BOT_DATABASE_URL": "not a url"})


def test_secret_keys_split_as_written() -> None:
    other = base64.urlsafe_b64encode(b"o" * 32).decode()
    s = load_settings({"BOT_SECRET_KEY": f" {FERNET_KEY} , {other}"})
    assert [k.get_secret_value() for k in s.secret_keys] == [FERNET_KEY, other]
    with pytest.raises(ConfigError, match="key 2 of 2"):
        load_settings({"BOT_SECRET_KEY": f"{FERNET_KEY},"})


def test_settings_secrets_hidden() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-canary", "SLACK_SIGNING_SECRET": "sig-canary-1234"})
    assert "canary" not in repr(s)
    assert "canary" not in str(s)


def test_app_config_reports_everything_and_registers_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_app_config({"BOT_MODE": "socket"})
    text = str(info.value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "BOT_CONFIG", "BOT_SECRET_KEY"):
        assert name in text

    path = write(tmp_path, {"targets": [target(cloud="gcp")]})
    with pytest.raises(ConfigError) as info:
        load_app_config({**ENV, "BOT_CONFIG": str(path), "SLACK_BOT_TOKEN": "xoxb-1"})
    text = str(info.value)
    assert "SLACK_APP_TOKEN: not set; for Socket Mode (the README's setup)" in text  # no mode chosen yet
    assert "BOT_MODE=http and SLACK_SIGNING_SECRET" in text
    assert "BOT_SECRET_KEY" in text
    assert "targets[0].cloud" in text

    path = write(tmp_path, {"targets": [target()]})
    env = {
        **ENV,
        "BOT_CONFIG": str(path),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "signing-canary-secret",
        "BOT_SECRET_KEY": FERNET_KEY,
    }
    app = load_app_config(env)
    assert app.bot.targets[0].name == "prod-eu-de"
    assert app.settings.mode == "http"
    try:
        assert "signing-canary-secret" not in redact("sig signing-canary-secret")
        assert SK_SECRET not in redact(f"sk {SK_SECRET}")
    finally:
        for secret in app.secrets():
            forget_secret(secret.get_secret_value())


def test_secret_key_rotation_list() -> None:
    other = base64.urlsafe_b64encode(b"o" * 32).decode()
    s = load_settings({"BOT_SECRET_KEY": f"{FERNET_KEY}, {other}"})
    assert [k.get_secret_value() for k in s.secret_keys] == [FERNET_KEY, other]
    with pytest.raises(ConfigError, match="key 2 of 2"):
        load_settings({"BOT_SECRET_KEY": f"{FERNET_KEY},short"})
    assert load_settings({}).secret_keys == []
