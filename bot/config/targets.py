"""The targets YAML as models: the cloud projects, their credentials (named environment variables) and
their approval policies."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.types import ChannelId, Duration, EnvName, Principal, Principals, http_url, split_principals
from bot.ecs.endpoints import default_endpoints

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


class BreakGlass(_Strict):
    """Who may run a reset without approval in an emergency on one target, and its controls.

    Absent from a target: break-glass is off there. Each use is announced at once to every approver and
    the audit channel, must be reviewed (acknowledged or flagged) by an approver within `review_within`,
    and one requester may break glass on the target at most once per `cooldown`."""

    allowed: list[Principal]
    """User IDs or user groups (`@handle`, `S…`), resolved like `requesters` and `approvers`."""
    cooldown: Duration = timedelta(hours=24)
    review_within: Duration = timedelta(hours=24)

    @field_validator("allowed")
    @classmethod
    def _someone(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError(
                "list at least one user ID or @group who may break glass; "
                "leave break_glass out to turn it off"
            )
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)}; list each once")
        return values

    @property
    def principals(self) -> Principals:
        return split_principals(self.allowed)


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
    # Extensions of the original contract (optional, with safe defaults).
    max_servers: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """Servers per request; the cloud client splits them into API batches of at most 1000."""
    allow_per_server_passwords: bool = True
    allow_restart: bool = True
    reminder_after: Duration | None = None
    """Remind the approvers channel when a request is still pending after this long."""
    break_glass: BreakGlass | None = None
    """Emergency runs without approval, for the people it allows; None (absent): off."""

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
        return http_url(_expand_env(value, _environ(info)))

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
        approvers = split_principals(self.approvers)
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
        return split_principals(self.requesters)

    @property
    def approver_principals(self) -> Principals:
        return split_principals(self.approvers)

    @property
    def named_principals(self) -> list[tuple[str, Principals]]:
        """Every list of people this target names, by its key in the file: requesters, approvers and,
        with break-glass on, `break_glass.allowed`. What the start-up pins and `doctor` checks."""
        found = [("requesters", self.requester_principals), ("approvers", self.approver_principals)]
        if self.break_glass is not None:
            found.append(("break_glass.allowed", self.break_glass.principals))
        return found


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
