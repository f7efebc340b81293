"""The workflow against the cloud as it really answers (the simulator's field behaviours), end to end:
an echoed password never stored or shown, a restart reported per server from its sub-job, an incomplete
server list told on the form."""

from __future__ import annotations

from bot.domain import Decision, RebootMode, RequestStatus
from bot.simulator import Fault
from bot.workflow.service import Submission

from .conftest import APPROVERS, REQUESTER, Env


async def test_a_password_the_cloud_echoes_is_neither_stored_nor_shown(env: Env) -> None:
    pending = await env.submit_ready(["web-01", "web-02"])
    env.sim.add_fault(Fault("echo_password", "/os-reset-passwords", method="PUT", times=None))
    for approver in APPROVERS[: pending.approvals_required]:
        assert (await env.workflow.decide(pending.id, approver, Decision.APPROVE)).ok
    await env.settle()
    request = await env.store.get_request(pending.id)
    assert request is not None
    assert request.status == RequestStatus.PARTLY_FAILED
    [secret] = env.notifier.delivered(request.id).secrets
    password = secret.password
    assert env.sim.fleet.password_matches(env.sid("web-01"), password)  # the cloud did reset web-01
    servers = {s.name: s for s in await env.store.servers(request.id)}
    assert servers["web-02"].error_message == "new_password '[redacted]' rejected"
    shown = [repr(n.view) + repr(n.event) for n in env.notifier.of(request.id) if n.kind != "deliver_secret"]
    assert shown
    assert not [text for text in shown if password in text]
    if env.db.backend == "sqlite":
        assert password.encode() not in env.db.file_bytes()


async def test_a_restart_is_done_only_where_its_sub_job_succeeded(env: Env) -> None:
    env.sim.jobs.failing = {env.sid("web-02"): "the guest did not come back"}
    env.sim.jobs.status_ignores_sub_jobs = True  # as seen: the job says SUCCESS
    request = await env.run_to_end(["web-01", "web-02"], reboot=RebootMode.HARD)
    note = request.outcome_message or ""
    assert "Restarted (hard), the new password in effect: web-01." in note
    assert "The hard restart failed on web-02 (the guest did not come back)" in note
    assert "2 server(s) restarted" not in note


async def test_an_incomplete_server_list_is_told_on_the_form(env: Env) -> None:
    # A cloud that serves 2 servers per page and ignores `offset`: the list stops at 2 of 9.
    env.sim.add_fault(Fault("page_size_cap", "/cloudservers/detail", times=None, cap=2))
    env.sim.add_fault(Fault("ignore_offset", "/cloudservers/detail", times=None))
    await env.workflow.inventory.refresh(env.target.name)
    listed = {s.name for s in env.workflow.inventory.cached(env.target.name) or []}
    missing = next(n for n in ("web-01", "web-02", "web-03", "web-04") if n not in listed)

    def submission(**kwargs: object) -> Submission:
        values: dict[str, object] = {
            "target": env.target.name,
            "requester_id": REQUESTER,
            "server_refs": [],
            "reason": "INC-1 locked out",
        }
        values.update(kwargs)
        return Submission(**values)  # type: ignore[arg-type]

    by_name = await env.workflow.submit(submission(server_refs=[missing]))
    assert by_name.request is None
    text = " ".join(by_name.errors.values())
    assert f"Unknown servers: {missing}." in text
    assert f"The server list of {env.target.name} is incomplete: the cloud listed 2 of 9 servers" in text
    by_tag = await env.workflow.submit(submission(tag="env=prod"))
    assert by_tag.request is None
    assert "Name the servers instead of giving a tag." in " ".join(by_tag.errors.values())
