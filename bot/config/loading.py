"""Reading the targets file and the environment: every problem of both reported at once, before
anything connects."""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    SecretStr,
    ValidationError,
)

from bot.config.mistakes import EMPTY_FILE, explain_yaml_error, misspelt_variables
from bot.config.problems import ConfigError, friendly_errors
from bot.config.settings import Settings
from bot.config.targets import BotConfig


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
    except IsADirectoryError:
        raise ConfigError([f"{file}: a folder; set BOT_CONFIG to the targets YAML file itself"]) from None
    except PermissionError:
        problem = f"{file}: uid {os.getuid()} may not read it; make it readable (it holds no secret)"
        raise ConfigError([problem]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: not UTF-8 text; save the targets YAML as UTF-8"]) from None
    except OSError as exc:
        raise ConfigError([f"{file}: cannot be read ({exc})"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line, column, sentence = explain_yaml_error(exc, text)
        where = f"line {line}" + (f", column {column}" if column else "") if line else ""
        raise ConfigError([f"{file}: {where}: {sentence}" if where else f"{file}: {sentence}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: YAML error: {exc}"]) from None
    if data is None:
        raise ConfigError([f"{file}: {EMPTY_FILE}"])
    if not isinstance(data, dict):
        found = {"list": "a list", "str": "plain text"}.get(type(data).__name__, type(data).__name__)
        raise ConfigError(
            [f"{file}: the top level must be `targets:` followed by a list of targets, found {found}"]
        )
    try:
        return BotConfig.model_validate(data, context={"environ": os.environ if environ is None else environ})
    except ValidationError as exc:
        raise ConfigError([f"{file}: {line}" for line in friendly_errors(exc)]) from None


_SETTINGS_ALIASES = tuple(
    str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias is not None
)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default os.environ); ConfigError naming each bad variable."""
    settings, problems = _settings_and_problems(environ)
    if problems or settings is None:
        raise ConfigError(problems or ["environment: the settings could not be read"])
    return settings


def _settings_and_problems(environ: Mapping[str, str] | None) -> tuple[Settings | None, list[str]]:
    """The settings and one line per bad variable. With bad values, the settings are read again without
    them (their defaults stand in), so what is missing for `run` is reported in the same pass instead of
    after the operator fixed a port."""
    source = os.environ if environ is None else environ
    upper = {k.upper(): v for k, v in source.items()}
    data = {a: upper[a] for a in _SETTINGS_ALIASES if upper.get(a, "").strip()}
    try:
        return Settings.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = [_setting_problem(e) for e in errors]
    bad = {str(e["loc"][0]) for e in errors if e["loc"]}
    try:
        partial = Settings.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        partial = None
    return partial, problems


_SECRET_SETTINGS = frozenset(
    str(f.validation_alias) for f in Settings.model_fields.values() if "SecretStr" in str(f.annotation)
)


def _setting_problem(error: Mapping[str, Any]) -> str:
    """`NAME: what is wrong; what to write`, never echoing a secret's value."""
    name = str(error["loc"][0]) if error["loc"] else "environment"
    kind: str = error["type"]
    ctx = error.get("ctx") or {}
    value = str(error.get("input"))
    # Short values only: a token pasted into the wrong variable (tokens and keys are 40+ characters) is
    # never echoed, and secret settings never are.
    written = "the value " if name in _SECRET_SETTINGS or len(value) > 32 else f"{value!r} "
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name}: {written}is not a whole number"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        field = Settings.model_fields.get(_FIELD_BY_ALIAS.get(name, ""))
        low, high = _bounds(field.metadata, field.annotation) if field else (None, None)
        if low is not None and high is not None:
            return f"{name}: {written}is out of range; write a number from {low} to {high}"
        return f"{name}: {written}is out of range ({str(error['msg']).lower()})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "the allowed values"))
        choices = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(value.strip(), choices, n=1) if written.startswith("'") else []
        mean = f"; did you mean {close[0]}?" if close else ""
        return f"{name}: {written}is not one of {expected}{mean}"
    if kind == "string_pattern_mismatch" and name in _SETTING_HINTS:
        return f"{name}: {written}has the wrong form; write {_SETTING_HINTS[name]}"
    return f"{name}: {str(error['msg']).removeprefix('Value error, ')}"


_SETTING_HINTS = {
    "BOT_AUDIT_CHANNEL": "a channel ID (not its name), e.g. C0123456789: channel details, at the bottom",
}

_FIELD_BY_ALIAS = {str(f.validation_alias): n for n, f in Settings.model_fields.items() if f.validation_alias}


def _bounds(metadata: list[Any], annotation: Any) -> tuple[Any, Any]:
    """(ge, le) of an `Annotated[int, Field(ge=..., le=...)]`, also inside an optional's union."""
    found = [*metadata]
    for arg in typing.get_args(annotation):
        found.extend(getattr(arg, "__metadata__", ()))
        for inner in getattr(arg, "__metadata__", ()):
            found.extend(getattr(inner, "metadata", ()))
    found.extend(m for item in list(found) for m in getattr(item, "metadata", ()))
    low = next((m.ge for m in found if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in found if getattr(m, "le", None) is not None), None)
    return low, high


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
    bot_config: BotConfig | None = None
    settings, setting_problems = _settings_and_problems(env)
    problems.extend(setting_problems)
    problems.extend(misspelt_variables(env, _SETTINGS_ALIASES))
    if settings is not None:
        reported = {line.partition(":")[0] for line in setting_problems}
        # A BOT_MODE that is not a mode says nothing about which setup the operator follows.
        mode_explicit = "BOT_MODE" not in reported and any(
            k.upper() == "BOT_MODE" and v.strip() for k, v in env.items()
        )
        problems.extend(
            line
            for line in settings.missing_for_run(mode_explicit=mode_explicit)
            if line.partition(":")[0] not in reported
        )
    # A bad value elsewhere (a port, the key) must not hide the targets file's own problems until it is fixed.
    config_path = settings.config_path if settings is not None else (env.get("BOT_CONFIG") or "").strip()
    if config_path:
        try:
            bot_config = load_config(config_path, environ=env)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems or settings is None or bot_config is None or setting_problems:
        raise ConfigError(problems or ["configuration could not be loaded"])
    app_config = AppConfig(settings, bot_config)
    if register_secrets:
        from bot.logs import register_secret

        for secret in app_config.secrets():
            register_secret(secret.get_secret_value())
    return app_config
