"""Settings from the environment and the targets YAML, validated once at start-up.

Every mistake an operator can make is reported before anything connects, all at once, each with its
path in the file (`targets[1].auth.access_key_env`) and what to write instead. The names here are the
contract of DESIGN.md ("Contract with the outside"): they may be extended, never renamed.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AkSkAuth",
    "AppConfig",
    "Auth",
    "BotConfig",
    "ConfigError",
    "Endpoints",
    "PasswordAuth",
    "Principals",
    "Settings",
    "Target",
    "default_endpoints",
    "load_app_config",
    "load_config",
    "load_settings",
    "parse_duration",
]


class ConfigError(Exception):
    """Every configuration problem found, one per line, each saying where and what to write instead."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} configuration problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


# --------------------------------------------------------------------------------------------------------
# Durations

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """`30m`, `1h`, `2h30m`, `90s`, `1d`, or a number of seconds, as a timedelta (strictly positive)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 1h, 2h30m or 90s")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts).lower() != text.lower():
                raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 1h, 2h30m or 90s")
            seconds = sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts)
    else:
        raise ValueError("expected a duration such as 30m, 1h, 2h30m or 90s")
    if seconds <= 0:
        raise ValueError("the duration must be more than zero, e.g. 30m or 1h")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# --------------------------------------------------------------------------------------------------------
# Endpoints


class Endpoints(NamedTuple):
    """Base URLs of the ECS and IAM APIs of one cloud region."""

    ecs: str
    iam: str


_OTC_REGIONS = ("eu-de", "eu-nl")
_OTC_SWISS_REGION = "eu-ch2"


def default_endpoints(cloud: str, region: str) -> Endpoints:
    """The public endpoints of `cloud` in `region` (reference/ecs-api.md); ValueError if none is known."""
    if cloud == "huaweicloud":
        return Endpoints(f"https://ecs.{region}.myhuaweicloud.com", f"https://iam.{region}.myhuaweicloud.com")
    if cloud == "otc":
        if region == _OTC_SWISS_REGION:
            return Endpoints(
                "https://ecs.eu-ch2.sc.otc.t-systems.com", "https://iam-pub.eu-ch2.sc.otc.t-systems.com"
            )
        if region in _OTC_REGIONS:
            return Endpoints(
                f"https://ecs.{region}.otc.t-systems.com", f"https://iam.{region}.otc.t-systems.com"
            )
        known = ", ".join((*_OTC_REGIONS, _OTC_SWISS_REGION))
        raise ValueError(f"no default endpoints for OTC region {region!r} (known: {known})")
    raise ValueError(f"unknown cloud {cloud!r}; expected otc or huaweicloud")


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: str, environ: Mapping[str, str]) -> str:
    """`${NAME}` / `${NAME:-default}` in endpoint values, so one file serves several environments."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set; set it or write ${{{name}:-https://...}}")

    return _ENV_REF.sub(substitute, value)


def _endpoint(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError(f"{value!r} is not a URL; write e.g. https://ecs.eu-de.otc.t-systems.com")
    return value


# --------------------------------------------------------------------------------------------------------
# Targets YAML

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_GROUP_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
Principal = Annotated[str, Field(pattern=r"^(@[a-z0-9][a-z0-9._-]*|[UWS][A-Z0-9]{2,})$")]
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]
ChannelId = Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,}$")]


class Principals(NamedTuple):
    """A requesters/approvers list split by kind, for the policy checks."""

    user_ids: frozenset[str]
    group_handles: frozenset[str]
    """Without the leading @."""
    group_ids: frozenset[str]


def _split_principals(values: Sequence[str]) -> Principals:
    return Principals(
        frozenset(v for v in values if _USER_ID.match(v)),
        frozenset(v[1:] for v in values if _GROUP_HANDLE.match(v)),
        frozenset(v for v in values if _GROUP_ID.match(v)),
    )


def _environ(info: ValidationInfo) -> Mapping[str, str]:
    context = info.context
    if isinstance(context, dict) and isinstance(context.get("environ"), Mapping):
        return context["environ"]  # type: ignore[no-any-return]
    return os.environ


def _read_env(name: str, info: ValidationInfo) -> str:
    """The value of the variable `name`; ValueError naming it when unset, so start-up says what to set."""
    value = _environ(info).get(name)
    if not value:
        raise ValueError(f"environment variable {name} is not set (or empty); set it before starting the bot")
    return value


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently disable a policy."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _SecretsFromEnv(_Strict):
    """An auth block that names environment variables; their values are read once, at load time,
    so a missing variable is reported with its path before anything connects."""

    _env_fields: ClassVar[tuple[str, ...]] = ()
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @field_validator("access_key_env", "secret_key_env", "user_env", "password_env", check_fields=False)
    @classmethod
    def _must_be_set(cls, name: str, info: ValidationInfo) -> str:
        _read_env(name, info)
        return name

    @model_validator(mode="wrap")
    @classmethod
    def _load_secrets(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        model = handler(data)
        model._secrets = {f: SecretStr(_read_env(getattr(model, f), info)) for f in cls._env_fields}
        return model

    def _secret(self, env_field: str) -> SecretStr:
        return self._secrets.get(env_field, SecretStr(""))


class AkSkAuth(_SecretsFromEnv):
    """Access key / secret key signing; the keys themselves live in the environment, named here."""

    _env_fields = ("access_key_env", "secret_key_env")
    type: Literal["aksk"]
    access_key_env: EnvName
    secret_key_env: EnvName

    @property
    def access_key(self) -> SecretStr:
        return self._secret("access_key_env")

    @property
    def secret_key(self) -> SecretStr:
        return self._secret("secret_key_env")


class PasswordAuth(_SecretsFromEnv):
    """IAM user name and password (token auth); both come from the environment, named here."""

    _env_fields = ("user_env", "password_env")
    type: Literal["password"]
    user_env: EnvName
    password_env: EnvName
    domain: Annotated[str, Field(min_length=1)]
    """The account (domain) name, e.g. OTC00000000001000000xxx."""

    @property
    def user(self) -> SecretStr:
        return self._secret("user_env")

    @property
    def password(self) -> SecretStr:
        return self._secret("password_env")


Auth = Annotated[AkSkAuth | PasswordAuth, Field(discriminator="type")]


class Target(_Strict):
    """One cloud project the bot may reset passwords in, with who may ask and who must approve."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    cloud: Literal["otc", "huaweicloud"]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z0-9]+)+$")]
    project_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")]
    ecs_endpoint: str
    """Filled from cloud+region when the file omits it (see `default_endpoints`)."""
    iam_endpoint: str
    auth: Auth
    requesters: list[Principal] = Field(default_factory=list)
    """Empty: anyone in the workspace may request."""
    approvers: Annotated[list[Principal], Field(min_length=1)]
    approvals_required: Annotated[int, Field(ge=1, le=20)] = 1
    approvers_channel: ChannelId
    request_ttl: Duration = timedelta(hours=1)
    reason_pattern: str | None = None
    """A regular expression the reason must contain (re.search), e.g. a ticket ID."""
    # Extensions (not in DESIGN.md's example; optional with safe defaults).
    max_servers: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """Servers per request; the cloud client splits them into API batches of at most 1000."""
    allow_per_server_passwords: bool = True
    allow_restart: bool = True
    reminder_after: Duration | None = None
    """Remind the approvers channel when a request is still pending after this long."""

    @model_validator(mode="before")
    @classmethod
    def _default_endpoints(cls, data: Any) -> Any:
        """Fill endpoints left out from cloud+region; when none is known, the field says what to write."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        cloud, region = data.get("cloud"), data.get("region")
        if isinstance(cloud, str) and isinstance(region, str):
            try:
                defaults = default_endpoints(cloud, region)
            except ValueError:
                return data  # the missing endpoint is reported with a hint
            for key, default in (("ecs_endpoint", defaults.ecs), ("iam_endpoint", defaults.iam)):
                if data.get(key) is None:
                    data[key] = default
        return data

    @field_validator("ecs_endpoint", "iam_endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str, info: ValidationInfo) -> str:
        return _endpoint(_expand_env(value, _environ(info)))

    @field_validator("project_id")
    @classmethod
    def _lower_project_id(cls, value: str) -> str:
        return value.lower()

    @field_validator("reason_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc})") from None
        return value

    @field_validator("requesters", "approvers")
    @classmethod
    def _no_duplicates(cls, values: list[str]) -> list[str]:
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)}; list each once")
        return values

    @model_validator(mode="after")
    def _policy_can_be_met(self) -> Target:
        approvers = _split_principals(self.approvers)
        only_users = not approvers.group_handles and not approvers.group_ids
        if only_users and self.approvals_required > len(approvers.user_ids):
            raise ValueError(
                f"approvals_required is {self.approvals_required} but only {len(approvers.user_ids)} "
                "approver(s) are listed; lower approvals_required or add approvers"
            )
        if self.reminder_after is not None and self.reminder_after >= self.request_ttl:
            raise ValueError("reminder_after must be shorter than request_ttl, or be left out")
        return self

    @property
    def requester_principals(self) -> Principals:
        return _split_principals(self.requesters)

    @property
    def approver_principals(self) -> Principals:
        return _split_principals(self.approvers)

    def reason_is_acceptable(self, reason: str) -> bool:
        """Whether `reason` is non-blank and contains `reason_pattern` (when one is set)."""
        if not reason.strip():
            return False
        return self.reason_pattern is None or re.search(self.reason_pattern, reason) is not None


class BotConfig(_Strict):
    """The targets YAML file: the cloud projects and their approval policies."""

    targets: Annotated[list[Target], Field(min_length=1)]

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, targets: list[Target]) -> list[Target]:
        names = [t.name for t in targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"target names must be unique; rename the repeated {', '.join(duplicates)}")
        return targets

    def target(self, name: str) -> Target:
        """The target called `name`; KeyError when there is none."""
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    def secrets(self) -> Iterator[SecretStr]:
        """Every credential read from the environment, e.g. to register them with the log redaction."""
        for t in self.targets:
            if isinstance(t.auth, AkSkAuth):
                yield t.auth.secret_key
            else:
                yield t.auth.password


# --------------------------------------------------------------------------------------------------------
# Friendly errors

_HINTS: dict[str, str] = {
    "targets": "write `targets:` followed by a list of targets (see examples/targets.yml)",
    "name": "a short unique name of letters, digits, '.', '_' or '-', e.g. prod-eu-de",
    "cloud": "write otc or huaweicloud",
    "region": "a region such as eu-de, eu-nl, eu-ch2 or ap-southeast-1",
    "project_id": "the 32 hexadecimal characters of the project ID, e.g. 0123456789abcdef0123456789abcdef",
    "ecs_endpoint": "a URL such as https://ecs.eu-de.otc.t-systems.com",
    "iam_endpoint": "a URL such as https://iam.eu-de.otc.t-systems.com",
    "auth": "write {type: aksk, access_key_env: OTC_AK, secret_key_env: OTC_SK} or "
    "{type: password, user_env: OTC_USER, password_env: OTC_PASSWORD, domain: OTC00000000001000000xxx}",
    "type": "write aksk or password",
    "access_key_env": "the NAME of the environment variable holding the access key, e.g. OTC_AK",
    "secret_key_env": "the NAME of the environment variable holding the secret key, e.g. OTC_SK",
    "user_env": "the NAME of the environment variable holding the IAM user name, e.g. OTC_USER",
    "password_env": "the NAME of the environment variable holding the IAM password, e.g. OTC_PASSWORD",
    "domain": "the account (domain) name, e.g. OTC00000000001000000xxx",
    "requesters": 'a list of user-group handles or user IDs, e.g. ["@oncall", U012ABCDEF]; [] for anyone',
    "approvers": 'a non-empty list of user-group handles or user IDs, e.g. ["@sre-leads", U034GHIJKL]',
    "approvals_required": "a whole number of at least 1, e.g. 1 or 2",
    "approvers_channel": "a channel ID (not its name), e.g. C0123456789: channel details, at the bottom",
    "request_ttl": "a duration such as 30m, 1h, 2h30m or 90s",
    "reminder_after": "a duration shorter than request_ttl, such as 20m",
    "reason_pattern": 'a regular expression, e.g. "^[A-Z]+-[0-9]+"',
    "max_servers": "a whole number from 1 to 100000",
    "allow_per_server_passwords": "write true or false",
    "allow_restart": "write true or false",
}

_MODEL_FIELDS: dict[str, tuple[str, ...]] = {
    "top": tuple(BotConfig.model_fields),
    "target": tuple(Target.model_fields),
    "aksk": tuple(AkSkAuth.model_fields),
    "password": tuple(PasswordAuth.model_fields),
}


def _format_path(loc: Sequence[str | int]) -> str:
    """`('targets', 1, 'auth', 'aksk', 'access_key_env')` -> `targets[1].auth.access_key_env`."""
    out = ""
    previous: str | int | None = None
    for part in loc:
        if previous == "auth" and part in ("aksk", "password"):
            previous = part
            continue  # the discriminated union's tag, not a key the operator wrote
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out or "(file)"


def _known_fields(loc: Sequence[str | int]) -> tuple[str, ...]:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    if not parents:
        return _MODEL_FIELDS["top"]
    if parents[-1] in ("aksk", "password"):
        return _MODEL_FIELDS[parents[-1]]
    if parents[-1] == "targets":
        return _MODEL_FIELDS["target"]
    return ()


def _friendly(error: Mapping[str, Any]) -> str:
    """Pydantic's error as `path: problem; what to write` (the YAML holds no secrets, only env names)."""
    loc: list[str | int] = list(error["loc"])
    kind: str = error["type"]
    message: str = error["msg"].removeprefix("Value error, ")
    path = _format_path(loc)
    field = next((p for p in reversed(loc) if isinstance(p, str) and p not in ("aksk", "password")), "")
    hint = _HINTS.get(field, "")
    if kind == "extra_forbidden":
        known = _known_fields(loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return f"{path}: unknown key; did you mean {close[0]}?"
        return f"{path}: unknown key; known keys here: {', '.join(known)}"
    if kind == "missing":
        if field in ("ecs_endpoint", "iam_endpoint"):
            return (
                f"{path}: required, because there is no default endpoint for this cloud and region "
                f"(defaults exist for huaweicloud, and otc in eu-de, eu-nl, eu-ch2); write {hint}"
            )
        return f"{path}: required; {hint}" if hint else f"{path}: required"
    if kind in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type", "model_type"):
        return f"{path}: {message}; {hint}" if hint else f"{path}: {message}"
    if kind == "string_pattern_mismatch":
        written = error.get("input")
        shown = f"{written!r} " if isinstance(written, str) and len(written) <= 80 else ""
        return f"{path}: {shown}has the wrong form; write {hint}" if hint else f"{path}: {message}"
    if kind.startswith("value_error") or kind == "assertion_error":
        return f"{path}: {message}"
    return f"{path}: {message}; {hint}" if hint else f"{path}: {message}"


def _friendly_errors(exc: ValidationError) -> list[str]:
    """One line per mistake: a misspelt key and the key it should have been give one line, not two;
    a target whose cloud or region is wrong does not also get "endpoint required" lines."""
    errors = exc.errors(include_url=False)
    bad_place = {e["loc"][:2] for e in errors if len(e["loc"]) == 3 and e["loc"][2] in ("cloud", "region")}
    misspelt: set[tuple[int | str, ...]] = set()
    for e in errors:
        if e["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(e["loc"][-1]), _known_fields(e["loc"]), n=1)
            misspelt.update((*e["loc"][:-1], c) for c in close)
    kept = []
    for e in errors:
        loc = e["loc"]
        if e["type"] == "missing" and (
            loc in misspelt or (loc[:2] in bad_place and loc[2:] in (("ecs_endpoint",), ("iam_endpoint",)))
        ):
            continue
        kept.append(_friendly(e))
    return kept


# --------------------------------------------------------------------------------------------------------
# Loading the YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice; keep one", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> BotConfig:
    """Read and validate the targets YAML at `path`, reading the credentials it names from `environ`.

    Raises ConfigError listing every problem (with its path in the file) at once.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{file}: file not found; set BOT_CONFIG to the targets YAML"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot be read ({exc})"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: YAML error: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{file}: expected a mapping with `targets:` at the top, found {type(data).__name__}"]
        )
    try:
        return BotConfig.model_validate(data, context={"environ": os.environ if environ is None else environ})
    except ValidationError as exc:
        raise ConfigError([f"{file}: {line}" for line in _friendly_errors(exc)]) from None


# --------------------------------------------------------------------------------------------------------
# Environment settings


def _fernet_keys(value: SecretStr | None) -> SecretStr | None:
    """Fernet keys (32 bytes in URL-safe base64), comma-separated for rotation: the first encrypts, all
    decrypt. Checked here so a bad key fails at start-up, not at the first reveal."""
    if value is None:
        return None
    parts = [p.strip() for p in value.get_secret_value().split(",")]
    for number, part in enumerate(parts, start=1):
        try:
            raw = base64.urlsafe_b64decode(part.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            which = f"key {number} of {len(parts)} " if len(parts) > 1 else ""
            raise ValueError(
                f"{which}must be 32 bytes in URL-safe base64 (a Fernet key); generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            )
    return SecretStr(",".join(parts))


class Settings(BaseSettings):
    """Process settings from the environment (names in DESIGN.md, extensions prefixed BOT_)."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", env_ignore_empty=True, populate_by_name=True, frozen=True
    )

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

    @field_validator("secret_key")
    @classmethod
    def _valid_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _fernet_keys(value)

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        value = _endpoint(value)
        return value + "/"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", value):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                "e.g. sqlite+aiosqlite:///./data/ecs-reset-bot.sqlite3"
            )
        return value

    def missing_for_run(self) -> list[str]:
        """What `run` needs and the environment lacks, as friendly lines (empty when ready)."""
        problems = []
        if self.slack_bot_token is None:
            problems.append("SLACK_BOT_TOKEN: not set; copy the Bot User OAuth Token (xoxb-...) of the app")
        if self.mode == "socket" and self.slack_app_token is None:
            problems.append(
                "SLACK_APP_TOKEN: not set but BOT_MODE is socket; create an app-level token (xapp-...) "
                "with connections:write, or set BOT_MODE=http"
            )
        if self.mode == "http" and self.slack_signing_secret is None:
            problems.append(
                "SLACK_SIGNING_SECRET: not set but BOT_MODE is http; copy it from Basic Information"
            )
        if self.config_path is None:
            problems.append(
                "BOT_CONFIG: not set; set it to the path of the targets YAML (see examples/targets.yml)"
            )
        if self.secret_key is None:
            problems.append(
                "BOT_SECRET_KEY: not set; generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            )
        return problems

    @property
    def secret_keys(self) -> list[SecretStr]:
        """BOT_SECRET_KEY split into its keys, newest (encrypting) first; empty when unset."""
        if self.secret_key is None:
            return []
        return [SecretStr(k.strip()) for k in self.secret_key.get_secret_value().split(",") if k.strip()]

    def secrets(self) -> Iterator[SecretStr]:
        """The secret settings that are set, e.g. to register them with the log redaction."""
        for value in (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            *self.secret_keys,
        ):
            if value is not None:
                yield value


_SETTINGS_ALIASES = tuple(
    str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias is not None
)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default os.environ); ConfigError naming each bad variable."""
    source = os.environ if environ is None else environ
    upper = {k.upper(): v for k, v in source.items()}
    data = {a: upper[a] for a in _SETTINGS_ALIASES if upper.get(a, "").strip()}
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False, include_input=False):
            name = str(e["loc"][0]) if e["loc"] else "environment"
            problems.append(f"{name}: {e['msg'].removeprefix('Value error, ')}")
        raise ConfigError(problems) from None


@dataclass(frozen=True)
class AppConfig:
    """Everything `run` needs: the environment settings and the targets file, both validated."""

    settings: Settings
    bot: BotConfig

    def secrets(self) -> Iterator[SecretStr]:
        yield from self.settings.secrets()
        yield from self.bot.secrets()


def load_app_config(environ: Mapping[str, str] | None = None, *, register_secrets: bool = True) -> AppConfig:
    """Settings + targets, every problem of both reported in one ConfigError before anything connects.

    With `register_secrets`, every secret value is registered with the log redaction (bot.logs).
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    settings: Settings | None = None
    bot_config: BotConfig | None = None
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if settings is not None:
        problems.extend(settings.missing_for_run())
        if settings.config_path is not None:
            try:
                bot_config = load_config(settings.config_path, environ=env)
            except ConfigError as exc:
                problems.extend(exc.problems)
    if problems or settings is None or bot_config is None:
        raise ConfigError(problems or ["configuration could not be loaded"])
    app_config = AppConfig(settings, bot_config)
    if register_secrets:
        from bot.logs import register_secret

        for secret in app_config.secrets():
            register_secret(secret.get_secret_value())
    return app_config
