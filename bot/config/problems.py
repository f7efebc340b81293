"""Configuration problems as operators read them: each with its path in the file and what to write."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import (
    ValidationError,
)

from bot.config.targets import AkSkAuth, BotConfig, BreakGlass, PasswordAuth, Target


class ConfigError(Exception):
    """Every configuration problem found, one per line, each saying where and what to write instead."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} configuration problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])

    def block(self, consequence: str) -> str:
        """What the command line prints, wherever the problems were found (the environment, the targets
        file, or the workspace, for a user group Slack does not have): a line saying what was not done
        (`consequence`, e.g. "nothing was started"), then each problem with its fix. Exit code 2."""
        return f"The configuration has problems; {consequence}.\n{self}"


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
    "break_glass": 'write {allowed: ["@incident-commanders"], cooldown: 24h, review_within: 24h}, '
    "or leave it out to turn break-glass off",
    "allowed": "a non-empty list of user-group handles or user IDs, "
    'e.g. ["@incident-commanders", U056MNOPQR]',
    "cooldown": "a duration such as 24h or 12h: how long after a break-glass the same person must wait",
    "review_within": "a duration such as 24h: approvers are reminded when nobody acknowledged by then",
}


_MODEL_FIELDS: dict[str, tuple[str, ...]] = {
    "top": tuple(BotConfig.model_fields),
    "target": tuple(Target.model_fields),
    "aksk": tuple(AkSkAuth.model_fields),
    "password": tuple(PasswordAuth.model_fields),
    "break_glass": tuple(BreakGlass.model_fields),
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
    if parents[-1] == "break_glass":
        return _MODEL_FIELDS["break_glass"]
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
    if (
        kind == "string_type"
        and isinstance(error.get("input"), int | float)
        and not isinstance(error.get("input"), bool)
    ):
        # YAML reads 0123 or 1e5 as a number: the operator wrote text that YAML took for one.
        return f'{path}: YAML read this as a number; put it in quotes, e.g. "0123", to keep it as written'
    if kind.startswith("value_error") or kind == "assertion_error":
        return f"{path}: {message}"
    return f"{path}: {message}; {hint}" if hint else f"{path}: {message}"


def friendly_errors(exc: ValidationError) -> list[str]:
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
