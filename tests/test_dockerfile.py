"""Docker cannot run here, so the Dockerfile's essentials are checked by reading it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((REPO / "Dockerfile").read_text(encoding="utf-8"))


def final_stage(parsed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (kw, _) in enumerate(parsed) if kw == "FROM")
    return parsed[last_from:]


def build_args(parsed: list[tuple[str, str]]) -> dict[str, str]:
    """Global ARG defaults (those before the first FROM), which FROM lines may use."""
    defaults: dict[str, str] = {}
    for keyword, args in parsed:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name] = value
    return defaults


def test_every_base_image_is_pinned(dockerfile: list[tuple[str, str]]) -> None:
    defaults = build_args(dockerfile)
    images = [args.split()[0] for kw, args in dockerfile if kw == "FROM"]
    assert len(images) >= 2, "expected a multi-stage build"
    for image in images:
        resolved = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], image)
        assert "@sha256:" in resolved or re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", resolved), resolved
        assert not resolved.endswith(":latest")


def test_runtime_copies_the_venv_from_the_builder(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    assert any(
        kw == "COPY" and args.startswith("--from=builder") and "/opt/venv" in args for kw, args in stage
    )
    for source in ("pyproject.toml", "README.md", "bot"):
        assert (REPO / source).exists(), f"the builder copies {source}, which is missing"


def test_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for kw, args in final_stage(dockerfile) if kw == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_healthcheck_asks_healthz_with_python(dockerfile: list[tuple[str, str]]) -> None:
    checks = [args for kw, args in final_stage(dockerfile) if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    check = checks[0]
    assert "curl" not in check
    assert "wget" not in check
    assert "http://127.0.0.1:${BOT_HTTP_PORT:-3000}/healthz" in check
    command = check.split(" CMD ", 1)[1]
    words = shlex.split(command.replace("|| exit 1", ""))
    assert words[:2] == ["python", "-c"]
    compile(words[2].replace("${BOT_HTTP_PORT:-3000}", "3000"), "<healthcheck>", "exec")


def test_entrypoint_runs_the_bot(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    entrypoint = [json.loads(args) for kw, args in stage if kw == "ENTRYPOINT"]
    cmd = [json.loads(args) for kw, args in stage if kw == "CMD"]
    assert entrypoint[-1] == ["python", "-m", "bot"]
    assert cmd[-1] == ["run"]


def test_port_volume_and_database_default(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    assert ("EXPOSE", "3000") in stage
    assert any(kw == "VOLUME" and "/data" in args for kw, args in stage)
    env = " ".join(args for kw, args in stage if kw == "ENV")
    match = re.search(r"BOT_DATABASE_URL=(\S+)", env)
    assert match is not None
    assert match.group(1).startswith("sqlite")
    assert "/data/" in match.group(1)


def test_dockerignore_keeps_secrets_and_clutter_out() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", ".env.*", "*.sqlite3"} <= ignored
    assert "bot" not in ignored
    assert "pyproject.toml" not in ignored
