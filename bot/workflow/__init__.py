"""The request workflow, free of any chat front end: states, policy, execution, recovery."""

from bot.workflow.execution import ExecutionSettings, Executor, SealedPasswords
from bot.workflow.inventory import Inventory, InventoryUnavailable, Resolution
from bot.workflow.policy import Policy
from bot.workflow.ports import (
    DeliveredSecret,
    Directory,
    EventKind,
    Notifier,
    RequestView,
    WorkflowEvent,
)
from bot.workflow.service import ActionResult, Field, Submission, SubmitResult, Workflow
from bot.workflow.states import OPEN_STATUSES, STATUS_WORDS
from bot.workflow.sweeper import Sweeper, SweepSettings
from bot.workflow.tasks import TaskKeeper

__all__ = [
    "OPEN_STATUSES",
    "STATUS_WORDS",
    "ActionResult",
    "DeliveredSecret",
    "Directory",
    "EventKind",
    "ExecutionSettings",
    "Executor",
    "Field",
    "Inventory",
    "InventoryUnavailable",
    "Notifier",
    "Policy",
    "RequestView",
    "Resolution",
    "SealedPasswords",
    "Submission",
    "SubmitResult",
    "SweepSettings",
    "Sweeper",
    "TaskKeeper",
    "Workflow",
    "WorkflowEvent",
]
