"""The workflow is the Slack front end's only door, at run time too: import-linter keeps bot.slack from
importing the store or the cloud client, and this keeps it from reaching them (or the workflow's other
collaborators) through the `Workflow` object's attributes, where no import shows it."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
COLLABORATORS = {"store", "clients", "executor", "inventory", "policy", "targets", "notifier", "tasks"}
"""What `Workflow` holds to do its work (bot/workflow/moves.py); the front end asks it instead."""


def reaches_through(tree: ast.AST) -> list[str]:
    """`<...>.workflow.<collaborator>` attribute reads, as `line: expression`."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in COLLABORATORS
            and isinstance(node.value, ast.Attribute | ast.Name)
            and (node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id) == "workflow"
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_slack_front_end_asks_the_workflow_and_never_reaches_past_it() -> None:
    modules = sorted((BOT / "slack").rglob("*.py"))
    assert len(modules) > 20, "the front end's modules were not found"
    found = {
        str(path.relative_to(BOT)): hits
        for path in modules
        if (hits := reaches_through(ast.parse(path.read_text())))
    }
    assert found == {}, found


def test_the_check_sees_a_reach_past_the_door() -> None:
    source = "async def f(ctx):\n    await ctx.workflow.store.get_request(1)\n    ctx.workflow.submit(x)\n"
    tree = ast.parse(source)
    assert reaches_through(tree) == ["2: ctx.workflow.store"]
