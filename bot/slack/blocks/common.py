"""Small Block Kit pieces and text rules shared by every surface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain import RequestStatus, ServerRecord
from bot.workflow import STATUS_WORDS, DeliveredSecret

# Slack's documented limits (reference/slack-platform.md). The fake Slack (bot/simulator/slack/limits.py)
# keeps its own copy on purpose: it checks the product independently, so do not import one from the other.
SECTION_TEXT_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100
SERVER_LINES_ON_CARD = 15

STATUS_EMOJI: dict[RequestStatus, str] = {
    RequestStatus.PREFLIGHT: ":mag:",
    RequestStatus.PENDING: ":hourglass_flowing_sand:",
    RequestStatus.APPROVED: ":white_check_mark:",
    RequestStatus.EXECUTING: ":gear:",
    RequestStatus.SUCCEEDED: ":large_green_circle:",
    RequestStatus.PARTLY_FAILED: ":large_orange_circle:",
    RequestStatus.FAILED: ":red_circle:",
    RequestStatus.DENIED: ":no_entry:",
    RequestStatus.CANCELLED: ":heavy_minus_sign:",
    RequestStatus.EXPIRED: ":alarm_clock:",
}


def escape(text: str) -> str:
    """Slack's three control characters; user text must not become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_line(status: RequestStatus) -> str:
    return f"{STATUS_EMOJI[status]} *{STATUS_WORDS[status].capitalize()}*"


def slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone, with a plain fallback for clients that cannot."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def markdown(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text))])


PHASE_ICON = {
    "waiting": "•",
    "skipped": ":heavy_minus_sign:",
    "sent": ":gear:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "unknown": ":grey_question:",
}


def server_line(server: ServerRecord) -> str:
    os_type = server.os_type or "OS unknown"
    state = server.cloud_status or "status unknown"
    line = f"{PHASE_ICON[server.phase.value]} `{escape(server.name)}` {os_type}, {state}"
    problem = server.preflight_error if server.phase.value in ("waiting", "skipped") else server.error_message
    if problem:
        line += f": {escape(problem)}"
    return line


def server_lines(servers: Sequence[ServerRecord], limit: int = SERVER_LINES_ON_CARD) -> str:
    lines: list[str] = []
    budget = SECTION_TEXT_LIMIT - 100  # room for the section's heading and the "…and N more" note
    for server in servers[:limit]:
        line = server_line(server)
        budget -= len(line) + 1
        if budget < 0:  # long names or errors: stop at a whole line rather than clip one mid-way
            break
        lines.append(line)
    if len(servers) > len(lines):
        lines.append(f"…and {len(servers) - len(lines)} more (full list in the thread)")
    return clip("\n".join(lines))


def secret_sections(secrets: Sequence[DeliveredSecret]) -> list[SectionBlock]:
    """Passwords beside the servers they open, packed into as few sections as Slack's limits allow.

    Used only by the ephemeral message and the reveal modal, the two places a password may appear.
    """
    lines: list[str] = []
    for secret in secrets:
        caveat = " _(may not have been applied)_" if not secret.applied else ""
        names = ", ".join(f"`{escape(n)}`" for n in secret.servers[:20])
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
