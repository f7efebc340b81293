"""ecs-reset-bot: batch ECS password resets behind a Slack approval workflow."""

__version__ = "0.1.0"
