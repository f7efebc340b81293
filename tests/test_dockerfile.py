"""The Dockerfile's essentials, checked by reading it; .ci/run also builds the image and smoke-tests it
(scripts/build-image.sh, scripts/smoke-image.py)."""

from __future__ import annotations

import json
import re
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
    for source in ("pyproject.toml", "README.md", "bot", "requirements.lock"):
        assert (REPO / source).exists(), f"the builder copies {source}, which is missing"


def test_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for kw, args in final_stage(dockerfile) if kw == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_healthcheck_asks_healthz_where_the_bot_listens(dockerfile: list[tuple[str, str]]) -> None:
    checks = [args for kw, args in final_stage(dockerfile) if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    command = json.loads(checks[0].split(" CMD ", 1)[1])
    assert command == ["python", "-m", "bot.healthcheck"]


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:3000/healthz"),
        ({"BOT_HTTP_HOST": "0.0.0.0", "BOT_HTTP_PORT": "8080"}, "http://127.0.0.1:8080/healthz"),
        ({"BOT_HTTP_HOST": "::"}, "http://127.0.0.1:3000/healthz"),
        ({"BOT_HTTP_HOST": "10.1.2.3", "BOT_HTTP_PORT": "3001"}, "http://10.1.2.3:3001/healthz"),
        ({"BOT_HTTP_HOST": "fd00::5"}, "http://[fd00::5]:3000/healthz"),
        # BOT_METRICS_PORT gives health its own listener: the check follows it.
        ({"BOT_HTTP_PORT": "8080", "BOT_METRICS_PORT": "9090"}, "http://127.0.0.1:9090/healthz"),
        ({"BOT_HTTP_HOST": "10.1.2.3", "BOT_METRICS_PORT": "9090"}, "http://10.1.2.3:9090/healthz"),
        (
            {"BOT_HTTP_HOST": "10.1.2.3", "BOT_METRICS_HOST": "127.0.0.2", "BOT_METRICS_PORT": "9090"},
            "http://127.0.0.2:9090/healthz",
        ),
    ],
)
def test_the_health_check_honours_bot_http_host(environ: dict[str, str], url: str) -> None:
    from bot.healthcheck import healthz_url

    assert healthz_url(environ) == url


async def test_the_health_check_passes_on_200_and_prints_the_problems_on_503(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from aiohttp import web

    from bot.healthcheck import main

    answer = {"status": 200, "body": {"ok": True}}

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(answer["body"], status=int(str(answer["status"])))

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    monkeypatch.setenv("BOT_HTTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BOT_HTTP_PORT", str(runner.addresses[0][1]))
    try:
        assert await asyncio.to_thread(main) == 0
        answer.update(status=503, body={"ok": False, "problems": {"slack_socket": "Socket Mode is down"}})
        assert await asyncio.to_thread(main) == 1
        assert "503: slack_socket: Socket Mode is down" in capsys.readouterr().out
    finally:
        await runner.cleanup()
    assert await asyncio.to_thread(main) == 1
    assert "no answer" in capsys.readouterr().out


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


def test_no_syntax_line_and_no_mode_chosen_for_the_operator() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert not text.startswith("# syntax="), "BuildKit would fetch a frontend from a registry for nothing"
    env = " ".join(args for kw, args in instructions(text) if kw == "ENV")
    assert "BOT_MODE" not in env, "the README's default (socket with SLACK_APP_TOKEN, else http) must hold"


def test_dependencies_come_from_the_hashed_lock_and_pip_leaves_the_image(
    dockerfile: list[tuple[str, str]],
) -> None:
    runs = " ".join(args for kw, args in dockerfile if kw == "RUN")
    assert "--require-hashes" in runs
    assert "-r requirements.lock" in runs
    assert "uninstall --yes pip setuptools" in runs
    assert ("STOPSIGNAL", "SIGTERM") in final_stage(dockerfile)


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    import tomllib

    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", lock, re.MULTILINE))
    blocks = re.split(r"\n(?=[a-z0-9])", lock.split("\n", 1)[1])
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, f"{name} is a dependency but not in requirements.lock: regenerate it (README)"
