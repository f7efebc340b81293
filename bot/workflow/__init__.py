"""The request workflow, free of any chat front end: states, policy, execution, recovery.

A front end's only door into the bot: it re-exports the domain's words front ends draw with.
"""

from bot.domain import (
    Decision,
    DecisionRecord,
    MessageRef,
    OwedNotice,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    RevealOutcome,
    RevealResult,
    Review,
    ReviewState,
    ServerPhase,
    ServerRecord,
)
from bot.workflow.breakglass import BREAK_GLASS_HOLD_TTL, BreakGlassRefused, TakenBreakGlass
from bot.workflow.drafts import Draft, DraftRefused, Drafts, message_text
from bot.workflow.execution import ExecutionSettings, Executor
from bot.workflow.home import HomeView, OwnRequest
from bot.workflow.inventory import Inventory, InventoryUnavailable, Resolution, ServerChoice
from bot.workflow.limits import RequestLimits
from bot.workflow.policy import MembershipUnknown, Policy
from bot.workflow.ports import (
    Delivered,
    DeliveredSecret,
    Directory,
    DirectoryUnavailable,
    EventKind,
    NoticeLedger,
    Notifier,
    NotShown,
    RequestView,
    SentMessages,
    ShowSecrets,
    WorkflowEvent,
)
from bot.workflow.results import CheckedSubmission
from bot.workflow.sealed import SealedPasswords
from bot.workflow.sentences import NO_TARGETS, STORE_FAILED, duration_words, names_list
from bot.workflow.service import ActionResult, Field, Submission, SubmitResult, Workflow
from bot.workflow.states import OPEN_STATUSES, STATUS_WORDS
from bot.workflow.sweeper import Sweeper, SweepSettings
from bot.workflow.tasks import KeyedLocks, TaskKeeper

__all__ = [
    "BREAK_GLASS_HOLD_TTL",
    "NO_TARGETS",
    "OPEN_STATUSES",
    "STATUS_WORDS",
    "STORE_FAILED",
    "ActionResult",
    "BreakGlassRefused",
    "CheckedSubmission",
    "Decision",
    "DecisionRecord",
    "Delivered",
    "DeliveredSecret",
    "Directory",
    "DirectoryUnavailable",
    "Draft",
    "DraftRefused",
    "Drafts",
    "EventKind",
    "ExecutionSettings",
    "Executor",
    "Field",
    "HomeView",
    "Inventory",
    "InventoryUnavailable",
    "KeyedLocks",
    "MembershipUnknown",
    "MessageRef",
    "NotShown",
    "NoticeLedger",
    "Notifier",
    "OwedNotice",
    "OwnRequest",
    "PasswordMode",
    "Policy",
    "RebootMode",
    "RequestLimits",
    "RequestRecord",
    "RequestStatus",
    "RequestView",
    "Resolution",
    "RevealOutcome",
    "RevealResult",
    "Review",
    "ReviewState",
    "SealedPasswords",
    "SentMessages",
    "ServerChoice",
    "ServerPhase",
    "ServerRecord",
    "ShowSecrets",
    "Submission",
    "SubmitResult",
    "SweepSettings",
    "Sweeper",
    "TakenBreakGlass",
    "TaskKeeper",
    "Workflow",
    "WorkflowEvent",
    "duration_words",
    "message_text",
    "names_list",
]
