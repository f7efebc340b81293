"""Who takes part in the end-to-end tests and the targets file their bots read (`support.harness`).

Sixty approvers, two requesters allowed on the IAM target and an outsider; both targets point at the
test process's simulator.
"""

from __future__ import annotations

from pathlib import Path

from bot.simulator import DEMO_PROJECT_ID, DEMO_SECRET_KEY, DEMO_USER
from bot.simulator.slack import SlackUser

SIGNING_SECRET = "e2e-signing-secret-0123456789"
REQUESTER = "UREQUESTER1"
OTHER_REQUESTER = "UREQUESTER2"
OUTSIDER = "UOUTSIDER1"
APPROVERS = tuple(f"UAPPROVER{i:02d}" for i in range(1, 61))
APPROVERS_CHANNEL = "CE2EAPPROVALS"

# The IAM user's password and the AK/SK are secrets too: the leak tests look for them as well.
CLOUD_SECRETS = (DEMO_SECRET_KEY, DEMO_USER.password)

TARGETS_YAML = """\
targets:
  - name: e2e-aksk
    cloud: huaweicloud
    region: eu-west-101
    project_id: {project_id}
    ecs_endpoint: "{sim_url}"
    iam_endpoint: "{sim_url}"
    auth: {{type: aksk, access_key_env: E2E_AK, secret_key_env: E2E_SK}}
    requesters: []
    approvers: [{approvers}]
    approvals_required: 1
    approvers_channel: {channel}
    request_ttl: {ttl}
  - name: e2e-iam
    cloud: otc
    region: eu-de
    project_id: {project_id}
    ecs_endpoint: "{sim_url}"
    iam_endpoint: "{sim_url}"
    auth: {{type: password, user_env: E2E_IAM_USER, password_env: E2E_IAM_PASSWORD, domain: {domain}}}
    requesters: [{requester}, {other_requester}]
    approvers: [{approvers}]
    approvals_required: 2
    approvers_channel: {channel}
    request_ttl: {ttl}
"""


def write_targets(path: Path, sim_url: str, *, ttl: str = "1h") -> None:
    path.write_text(
        TARGETS_YAML.format(
            project_id=DEMO_PROJECT_ID,
            sim_url=sim_url,
            approvers=", ".join(APPROVERS),
            channel=APPROVERS_CHANNEL,
            ttl=ttl,
            domain=DEMO_USER.domain,
            requester=REQUESTER,
            other_requester=OTHER_REQUESTER,
        )
    )


def fake_slack_users() -> list[SlackUser]:
    users = [
        SlackUser(REQUESTER, "alice", "Alice (on call)"),
        SlackUser(OTHER_REQUESTER, "dave", "Dave (on call)"),
        SlackUser(OUTSIDER, "mallory", "Mallory"),
    ]
    users += [SlackUser(a, f"approver{i}", f"Approver {i}") for i, a in enumerate(APPROVERS, 1)]
    return users
