"""Small Block Kit pieces and text rules shared by every surface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain import RequestStatus, ServerRecord
from bot.slack.blocks.text import escape, name_as_shown, suspicious_name
from bot.workflow import STATUS_WORDS, DeliveredSecret

__all__ = ["escape"]  # re-exported: every surface takes the one escaping function from here or text.py

# Slack's documented limits (reference/slack-platform.md). The fake Slack (bot/simulator/slack/limits.py)
# keeps its own copy on purpose: it checks the product independently, so do not import one from the other.
SECTION_TEXT_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100
VIEW_BLOCK_LIMIT = MODAL_BLOCK_LIMIT
"""Every view, the Home tab as a modal."""
SERVER_LINES_ON_CARD = 15

STATUS_EMOJI: dict[RequestStatus, str] = {
    RequestStatus.PREFLIGHT: ":mag:",
    RequestStatus.PENDING: ":hourglass_flowing_sand:",
    RequestStatus.EXECUTING: ":gear:",
    RequestStatus.SUCCEEDED: ":large_green_circle:",
    RequestStatus.PARTLY_FAILED: ":large_orange_circle:",
    RequestStatus.FAILED: ":red_circle:",
    RequestStatus.DENIED: ":no_entry:",
    RequestStatus.CANCELLED: ":heavy_minus_sign:",
    RequestStatus.EXPIRED: ":alarm_clock:",
}


def clip(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_line(status: RequestStatus) -> str:
    return f"{STATUS_EMOJI[status]} *{STATUS_WORDS[status].capitalize()}*"


def slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone, with a plain fallback for clients that cannot."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def markdown(text: str) -> SectionBlock:
    """A section of mrkdwn; `verbatim` so Slack links no bare URL or name in it (outside text goes
    through `escape` as well)."""
    return SectionBlock(text=MarkdownTextObject(text=clip(text), verbatim=True))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text), verbatim=True)])


PHASE_ICON = {
    "waiting": "•",
    "skipped": ":heavy_minus_sign:",
    "sent": ":gear:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "unknown": ":grey_question:",
}


def repeated_names(servers: Sequence[ServerRecord]) -> frozenset[str]:
    """Names (compared without case) that more than one server of this list carries."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for server in servers:
        key = server.name.lower()
        (repeated if key in seen else seen).add(key)
    return frozenset(repeated)


def server_warning(server: ServerRecord, repeated: frozenset[str] = frozenset()) -> str | None:
    """Why an approver should look twice at this server, or None."""
    reasons: list[str] = []
    if server.name.lower() in repeated:
        reasons.append("its name appears more than once in this request")
    if server.namesakes:
        reasons.append(f"{server.namesakes} other server(s) of the target have the same name")
    odd = suspicious_name(server.name)
    if odd:
        reasons.append(f"its name contains {odd}")
    return "; ".join(reasons) or None


def server_line(server: ServerRecord, repeated: frozenset[str] = frozenset()) -> str:
    """One server as every surface shows it: name, ID, private IP, OS, status, and a warning (with
    its tags) when its name could be taken for another's. Every part from the cloud is escaped."""
    details = [f"ID {server.server_id}"]
    if server.private_ip:
        details.append(f"IP {server.private_ip}")
    details += [server.os_type or "OS unknown", server.cloud_status or "status unknown"]
    name = escape(name_as_shown(server.name))
    line = f"{PHASE_ICON[server.phase.value]} {name} {escape(', '.join(details))}"
    problem = server.preflight_error if server.phase.value in ("waiting", "skipped") else server.error_message
    if problem:
        line += f": {escape(problem)}"
    warning = server_warning(server, repeated)
    if warning:
        tags = escape(", ".join(server.tags)) if server.tags else "_no tags_"
        line += f"\n        :warning: _Check this one: {warning}._ Tags: {tags}"
    return line


def server_lines(servers: Sequence[ServerRecord], limit: int = SERVER_LINES_ON_CARD) -> str:
    lines: list[str] = []
    repeated = repeated_names(servers)
    budget = SECTION_TEXT_LIMIT - 100  # room for the section's heading and the "…and N more" note
    for server in servers[:limit]:
        line = server_line(server, repeated)
        budget -= len(line) + 1
        if budget < 0:  # long names or errors: stop at a whole line rather than clip one mid-way
            break
        lines.append(line)
    if len(servers) > len(lines):
        lines.append(f"…and {len(servers) - len(lines)} more (full list in the thread)")
    return clip("\n".join(lines))


def flagged_servers(servers: Sequence[ServerRecord]) -> int:
    """How many servers of the list carry a warning (shown above the list, counting those cut off)."""
    repeated = repeated_names(servers)
    return sum(1 for s in servers if server_warning(s, repeated))


def secret_sections(secrets: Sequence[DeliveredSecret]) -> list[SectionBlock]:
    """Passwords beside the servers they open, packed into as few sections as Slack's limits allow.

    Used only by the ephemeral message and the reveal modal, the two places a password may appear.
    """
    lines: list[str] = []
    for secret in secrets:
        caveat = " _(may not have been applied)_" if not secret.applied else ""
        names = ", ".join(escape(name_as_shown(n)) for n in secret.servers[:20])
        more = f" and {len(secret.servers) - 20} more" if len(secret.servers) > 20 else ""
        lines.append(f"{names}{more}{caveat}\n```{secret.password}```")
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > SECTION_TEXT_LIMIT:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return sections
