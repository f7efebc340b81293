"""The targets file: DESIGN.md's example and the shipped examples load, default endpoints follow the cloud
and region, and the credentials it names are read from the environment and never shown."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from config_files import (
    AK_SECRET,
    DEMO_TARGETS,
    ENV,
    EXAMPLES,
    IAM_PASSWORD,
    SK_SECRET,
    only_problem,
    problems,
    target,
    write,
)

from bot.config import AkSkAuth, BotConfig, Endpoints, PasswordAuth, default_endpoints, load_config


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
