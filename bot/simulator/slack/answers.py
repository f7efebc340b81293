"""What Slack does with the bot's answer to a request it sent: shown, applied, or refused with an error.

A request the bot fails (not HTTP 200) or answers after Slack's 3 s deadline shows the person Slack's
own error, recorded in `shown_errors`; a modal submission's answer is applied to the modal (errors on
its fields, update, push, close); an options answer that breaks a limit shows no options; a command's
answer is shown to its user alone. Events are retried by Slack (delivery), never shown.
"""

from __future__ import annotations

import json

from bot.simulator.slack import limits
from bot.simulator.slack.records import JsonDict
from bot.simulator.slack.render import render_message, render_view
from bot.simulator.slack.signed import SignedRequest
from bot.simulator.slack.view_store import ViewStore

# Where Slack shows a person that the app failed them, per payload type.
_SURFACES = {
    "block_actions": "button",
    "view_submission": "modal",
    "block_suggestion": "select menu",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "view_closed": "modal",
}
# What Slack shows in a modal whose answer it cannot apply.
_MODAL_TROUBLE = "We had some trouble connecting. Try again?"


class BotAnswers(ViewStore):
    """The fake's side of the bot's answers; `SlackRequests.deliver` hands each one here."""

    def take_answer(self, request: SignedRequest, status: int, answer: str, elapsed_s: float) -> None:
        """Do what Slack does with the bot's HTTP `answer` to `request`, which took `elapsed_s` seconds.

        A late answer is still applied, unlike on Slack, so a loaded test machine does not change a
        test's outcome: the error Slack would have shown is in `shown_errors` all the same.
        """
        kind, payload = request.decoded()
        if kind == "events_api":
            return  # retried by Slack when refused, never shown to anyone
        if kind == "interactive":
            user, where = str(payload["user"]["id"]), _SURFACES.get(str(payload.get("type")), "app")
        else:
            user, where = str(payload["user_id"]), f"command {payload.get('command', '')}"
        if status != 200:
            self.show_error(user, where, f'failed with the error "dispatch_failed" (HTTP {status})')
            return
        if elapsed_s > limits.ACK_DEADLINE_SECONDS:
            self.show_error(user, where, f'failed with the error "operation_timeout" ({elapsed_s:.1f} s)')
        if payload.get("type") == "view_submission":
            self.apply_view_ack(user, payload["view"]["id"], answer)
        elif payload.get("type") == "block_suggestion":
            self.apply_options_answer(user, answer)
        elif kind == "slash_commands" and answer.strip():
            try:
                parsed = json.loads(answer)
                shown = render_message(str(parsed.get("text") or ""), list(parsed.get("blocks") or []), self)
            except (json.JSONDecodeError, AttributeError):
                shown = answer
            self.show(f"[{self.only(str(payload['channel_id']), user)}] bot: {shown}")

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
