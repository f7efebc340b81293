"""What Slack does with the bot's answer to a request it sent: applied, or refused with an error.

A modal submission's answer is applied to the modal (errors on its fields, update, push, close); an
options answer that breaks a limit shows no options. `SlackRequests.deliver` hands answers here.
"""

from __future__ import annotations

import json

from bot.simulator.slack import limits
from bot.simulator.slack.records import JsonDict
from bot.simulator.slack.render import render_view
from bot.simulator.slack.view_store import ViewStore

# What Slack shows in a modal whose answer it cannot apply.
_MODAL_TROUBLE = "We had some trouble connecting. Try again?"


class BotAnswers(ViewStore):
    """The fake's side of the bot's answers to modal submissions and options requests."""

    def apply_view_ack(self, user_id: str, view_id: str, ack_body: str) -> None:
        """Apply the bot's answer to a ``view_submission`` as Slack would (errors, update, push, clear).

        An answer Slack cannot apply (errors naming a block the view lacks, an update or push whose
        view breaks a limit) leaves the modal as it was and shows the person a generic error,
        recorded in `shown_errors`.
        """
        response: JsonDict = {}
        if ack_body.strip():
            try:
                parsed = json.loads(ack_body)
                response = parsed if isinstance(parsed, dict) else {}
            except json.JSONDecodeError:
                response = {}
        action = response.get("response_action")
        stack = self._modal_stacks.get(user_id, [])
        who = self.who(user_id)
        if action == "errors":
            errors = response.get("errors") or {}
            known = self._input_block_ids(view_id)
            unknown = [block for block in errors if known is not None and block not in known]
            if unknown or not errors:
                self.show_error(user_id, "modal", _MODAL_TROUBLE)
                return
            shown = "; ".join(f"{block}: {message}" for block, message in errors.items())
            self.show(f"[modal for {who}, errors] {shown}")
        elif action in ("update", "push"):
            view = response.get("view")
            problems = (
                limits.view_errors(view) if isinstance(view, dict) else ["missing required field: view"]
            )
            if problems:
                self.show_error(user_id, "modal", _MODAL_TROUBLE)
                return
            assert isinstance(view, dict)
            if action == "update" and view_id in self.views:
                stored = self.views[view_id]
                self.replace_view(stored, view)
                self.show(f"[modal for {who}, updated] {render_view(stored.view, self)}")
            elif action == "push" and stack:
                pushed = self.push_modal(user_id, view)
                self.show(f"[modal for {who}, pushed] {render_view(pushed.view, self)}")
        else:  # "clear" closes the whole stack, a plain ack the submitted view
            self.close_view(user_id, None if action == "clear" else view_id)
            self.show(f"[modal for {who}] closed")

    def apply_options_answer(self, user_id: str, answer: str) -> None:
        """Check the bot's answer to an options request: Slack shows no options when it breaks a limit."""
        try:
            parsed = json.loads(answer) if answer.strip() else {}
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or limits.options_answer_errors(parsed):
            self.show_error(user_id, "select menu", "No options found")

    def _input_block_ids(self, view_id: str) -> set[str] | None:
        """Block ids an ``errors`` answer may name (input blocks); None for a view the fake never saw."""
        stored = self.views.get(view_id)
        if stored is None:
            return None
        blocks = stored.view.get("blocks") or []
        return {str(b.get("block_id")) for b in blocks if isinstance(b, dict) and b.get("type") == "input"}
