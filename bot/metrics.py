"""Prometheus metrics, defined once so every layer counts into the same series."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "ecs_reset_requests_total",
    "Reset requests by the state they reached",
    ["target", "status"],
    registry=REGISTRY,
)
SERVER_RESETS = Counter(
    "ecs_reset_servers_total", "Per-server reset outcomes", ["target", "outcome"], registry=REGISTRY
)
EXECUTION_SECONDS = Histogram(
    "ecs_reset_execution_seconds",
    "Time from claim to final state",
    ["target"],
    registry=REGISTRY,
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
BACKGROUND_TASKS = Gauge("ecs_reset_background_tasks", "Background tasks in flight", registry=REGISTRY)
NOTIFICATION_FAILURES = Counter(
    "ecs_reset_notification_failures_total",
    "Notices to people (cards, DMs, deliveries) the chat front end could not send",
    ["what"],
    registry=REGISTRY,
)
SLACK_REFUSALS = Counter(
    "ecs_reset_slack_refusals_total",
    "Slack Web API calls refused, by method, Slack's error code and its kind (bot/slack/refusals.py)",
    ["method", "error", "kind"],
    registry=REGISTRY,
)
SLACK_TOKEN_REFUSED = Gauge(
    "ecs_reset_slack_token_refused",
    "1 while Slack refuses the bot's token (revoked, invalid)",
    registry=REGISTRY,
)
SLACK_CHANNEL_UNUSABLE = Gauge(
    "ecs_reset_slack_channel_unusable",
    "1 while the bot cannot post in a configured channel (not a member, archived, not found)",
    ["channel"],
    registry=REGISTRY,
)
BREAK_GLASS = Counter(
    "ecs_reset_break_glass_total",
    "Break-glass (runs without approval) and their reviews: run, refused (cooldown), acknowledged, "
    "flagged, reminded",
    ["target", "event"],
    registry=REGISTRY,
)
PASSWORDS_UNDELIVERED = Counter(
    "ecs_reset_passwords_undelivered_total",
    "Deliveries where neither the ephemeral copy nor the Reveal offer reached the requester",
    registry=REGISTRY,
)
