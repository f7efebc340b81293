"""Process settings from the environment (defaults, parsing, each mistake named by its variable, secrets
hidden), and the whole configuration, settings and targets, reporting every problem at once."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from config_files import ENV, FERNET_KEY, SK_SECRET, target, write

from bot.config import ConfigError, load_app_config, load_settings
from bot.logs import forget_secret, redact


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
