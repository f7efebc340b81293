"""Process settings from the environment (README.md, "Configuration": the operators' contract)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.exc import ArgumentError

from bot.config.types import ChannelId, Duration, http_url
from bot.store.engine import normalise_url

_KEY_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def split_secret_keys(value: str) -> list[str]:
    """BOT_SECRET_KEY as written: one Fernet key, or several comma-separated, newest (encrypting) first.
    The one place that reads this form."""
    return [part.strip() for part in value.split(",")]


def _fernet_keys(value: SecretStr | None) -> SecretStr | None:
    """Fernet keys (32 bytes in URL-safe base64), comma-separated for rotation: the first encrypts, all
    decrypt. Checked here so a bad key fails at start-up, not at the first reveal."""
    if value is None:
        return None
    parts = split_secret_keys(value.get_secret_value())
    for number, part in enumerate(parts, start=1):
        try:
            raw = base64.urlsafe_b64decode(part.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            which = f"key {number} of {len(parts)} " if len(parts) > 1 else ""
            raise ValueError(f"{which}must be 32 bytes in URL-safe base64 (a Fernet key); {_KEY_HINT}")
    return SecretStr(",".join(parts))


_TOKEN_MISTAKES = {
    "slack_bot_token": {
        "xapp-": "this is an app-level token (xapp-...), which belongs in SLACK_APP_TOKEN; SLACK_BOT_TOKEN "
        "is the Bot User OAuth Token (xoxb-...) on the app's OAuth & Permissions page",
        "xoxp-": "this is a user token (xoxp-...); the bot acts as itself: use the Bot User OAuth Token "
        "(xoxb-...) on the app's OAuth & Permissions page",
    },
    "slack_app_token": {
        "xoxb-": "this is the bot token (xoxb-...), which belongs in SLACK_BOT_TOKEN; SLACK_APP_TOKEN is an "
        "app-level token (xapp-...) under Basic Information > App-Level Tokens",
        "xoxp-": "this is a user token (xoxp-...); SLACK_APP_TOKEN is an app-level token (xapp-...) under "
        "Basic Information > App-Level Tokens",
    },
    "slack_signing_secret": {
        "xox": "this is a token; SLACK_SIGNING_SECRET is the Signing Secret on the app's Basic Information "
        "page (32 hexadecimal characters)",
    },
}
"""Token kinds in the wrong variable, by their documented prefixes (xoxb- bot, xapp- app-level, xoxp-
user)."""


class Settings(BaseModel):
    """Process settings from the environment: Slack's under SLACK_*, the bot's own under BOT_*.

    The names are listed in README.md ("Configuration") and are the operators' contract: extended, never
    renamed.

    A plain model: `load_settings` reads the environment (names case-insensitive, empty values unset)
    and validates it here, so tests pass their own mapping and nothing else reads os.environ.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    mode: Literal["socket", "http"] = Field(default="http", validation_alias="BOT_MODE")
    """Default: socket when SLACK_APP_TOKEN is set, else http."""
    http_host: str = Field(default="0.0.0.0", validation_alias="BOT_HTTP_HOST")  # noqa: S104 - containers
    http_port: Annotated[int, Field(ge=1, le=65535)] = Field(default=3000, validation_alias="BOT_HTTP_PORT")
    database_url: str = Field(
        default="sqlite+aiosqlite:///./data/ecs-reset-bot.sqlite3", validation_alias="BOT_DATABASE_URL"
    )
    config_path: Path | None = Field(default=None, validation_alias="BOT_CONFIG")
    secret_key: SecretStr | None = Field(default=None, validation_alias="BOT_SECRET_KEY")
    """One Fernet key, or several comma-separated for rotation (the first encrypts)."""
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = Field(
        default="INFO", validation_alias="BOT_LOG_LEVEL"
    )
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="BOT_LOG_FORMAT")
    reveal_ttl: Duration = Field(default=timedelta(minutes=15), validation_alias="BOT_REVEAL_TTL")
    ecs_concurrency: Annotated[int, Field(ge=1, le=500)] = Field(
        default=20, validation_alias="BOT_ECS_CONCURRENCY"
    )
    ecs_timeout: Duration = Field(default=timedelta(seconds=30), validation_alias="BOT_ECS_TIMEOUT")
    audit_channel: ChannelId | None = Field(default=None, validation_alias="BOT_AUDIT_CHANNEL")
    execution_lease: Duration = Field(default=timedelta(seconds=60), validation_alias="BOT_EXECUTION_LEASE")
    """How long an execution without a heartbeat stays its worker's before another replica takes over."""
    sweep_interval: Duration = Field(default=timedelta(seconds=15), validation_alias="BOT_SWEEP_INTERVAL")
    """How often expiry, reminders, reveal erasure and recovery run."""
    ca_bundle: Path | None = Field(default=None, validation_alias="BOT_CA_BUNDLE")
    """CA certificates (a PEM file, or a directory of them) trusted besides the system's, for the cloud
    and Slack: a private CA of the endpoints or of a TLS-inspecting proxy."""
    metrics_host: str | None = Field(default=None, validation_alias="BOT_METRICS_HOST")
    """With BOT_METRICS_PORT: the address of the health and metrics listener (default BOT_HTTP_HOST)."""
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, validation_alias="BOT_METRICS_PORT"
    )
    """When set, /healthz and /metrics listen on this port only, apart from Slack's endpoint."""
    metrics_token: SecretStr | None = Field(default=None, validation_alias="BOT_METRICS_TOKEN")
    """When set, /metrics answers only `Authorization: Bearer <token>`."""
    http_read_timeout: Duration = Field(
        default=timedelta(seconds=15), validation_alias="BOT_HTTP_READ_TIMEOUT"
    )
    """How long a client may take to send a request's headers, then its body, or keep a connection idle."""
    http_max_connections: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=100, validation_alias="BOT_HTTP_MAX_CONNECTIONS"
    )
    """Connections each listener keeps open at once; more are closed as they arrive."""
    max_open_requests: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=5, validation_alias="BOT_MAX_OPEN_REQUESTS"
    )
    """Requests one person may have unfinished at once (all targets)."""
    max_submissions_per_minute: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=5, validation_alias="BOT_MAX_SUBMISSIONS_PER_MINUTE"
    )
    """Requests one person may submit in any minute."""
    membership_max_age: Duration = Field(
        default=timedelta(seconds=5), validation_alias="BOT_MEMBERSHIP_MAX_AGE"
    )
    """How old a user group's member list may be when a decision (submit, approve, deny, cancel) rests
    on it; older lists are read again from Slack, and a decision Slack cannot back is refused."""

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: Any) -> Any:
        if isinstance(data, dict):
            keys = {str(k).upper() for k, v in data.items() if v not in (None, "")}
            if not keys & {"BOT_MODE", "MODE"}:
                socket = keys & {"SLACK_APP_TOKEN"}
                data = {**data, "BOT_MODE": "socket" if socket else "http"}
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", "mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret")
    @classmethod
    def _token_as_written(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Mistakes that are certain from the form alone, said before Slack says only "invalid_auth";
        the value is never echoed. Surrounding blanks (a copy-paste) are dropped."""
        if value is None:
            return None
        text = value.get_secret_value().strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            raise ValueError(
                "written with quotes around it; remove them (an --env-file or a Kubernetes secret takes "
                "the value exactly as written)"
            )
        if "…" in text or text.endswith("..."):
            raise ValueError(
                "still the placeholder of the README's example (…); paste the whole value as Slack shows it"
            )
        mistaken = _TOKEN_MISTAKES.get(info.field_name or "", {})
        for prefix, sentence in mistaken.items():
            if text.startswith(prefix):
                raise ValueError(sentence)
        return SecretStr(text)

    @field_validator("secret_key")
    @classmethod
    def _valid_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _fernet_keys(value)

    @field_validator("ca_bundle")
    @classmethod
    def _existing_path(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"{value} does not exist; give a PEM file or a directory of PEM files")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        value = http_url(value)
        return value + "/"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        """The store's rule (`bot.store.engine.normalise_url`): what it opens, settings accept."""
        try:
            normalise_url(value)
        except (ValueError, ArgumentError):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (sqlite:// and postgres:// "
                "are read as those), e.g. sqlite+aiosqlite:///./data/ecs-reset-bot.sqlite3"
            ) from None
        return value

    def missing_for_run(self, *, mode_explicit: bool = True) -> list[str]:
        """What `run` needs and the environment lacks, as friendly lines (empty when ready).

        `mode_explicit`: BOT_MODE was set. When it was not and neither SLACK_APP_TOKEN nor
        SLACK_SIGNING_SECRET is, the README's Socket Mode setup is what the operator is following."""
        problems = []
        if self.slack_bot_token is None:
            problems.append(
                "SLACK_BOT_TOKEN: not set; copy the Bot User OAuth Token (xoxb-...) from the app's "
                "OAuth & Permissions page"
            )
        if not mode_explicit and self.slack_app_token is None and self.slack_signing_secret is None:
            problems.append(
                "SLACK_APP_TOKEN: not set; for Socket Mode (the README's setup) create an app-level token "
                "(xapp-...) with the scope connections:write under Basic Information > App-Level Tokens; "
                "for HTTP mode instead set BOT_MODE=http and SLACK_SIGNING_SECRET"
            )
        elif self.mode == "socket" and self.slack_app_token is None:
            problems.append(
                "SLACK_APP_TOKEN: not set but BOT_MODE is socket; create an app-level token (xapp-...) "
                "with connections:write, or set BOT_MODE=http"
            )
        if self.mode == "http" and self.slack_signing_secret is None and mode_explicit:
            problems.append(
                "SLACK_SIGNING_SECRET: not set but BOT_MODE is http; copy it from the app's Basic "
                "Information page (or, for Socket Mode, set BOT_MODE=socket and SLACK_APP_TOKEN)"
            )
        if self.metrics_port == self.http_port and (self.metrics_host or self.http_host) == self.http_host:
            problems.append(
                f"BOT_METRICS_PORT: the same as BOT_HTTP_PORT ({self.http_port}); give health and metrics a "
                "port of their own, or leave BOT_METRICS_PORT unset to serve them beside Slack's endpoint"
            )
        if self.config_path is None:
            problems.append(
                "BOT_CONFIG: not set; set it to the path of the targets YAML (see examples/targets.yml)"
            )
        if self.secret_key is None:
            problems.append(f"BOT_SECRET_KEY: not set; {_KEY_HINT}")
        return problems

    @property
    def secret_keys(self) -> list[SecretStr]:
        """BOT_SECRET_KEY split into its keys, newest (encrypting) first; empty when unset."""
        if self.secret_key is None:
            return []
        return [SecretStr(k) for k in split_secret_keys(self.secret_key.get_secret_value())]

    def secrets(self) -> Iterator[SecretStr]:
        """The secret settings that are set, e.g. to register them with the log redaction."""
        for value in (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.metrics_token,
            *self.secret_keys,
        ):
            if value is not None:
                yield value
