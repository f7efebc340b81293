"""ecs-reset-bot: batch ECS password resets behind a Slack approval workflow."""
