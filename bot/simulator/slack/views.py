"""``views.*`` methods: modals bound to a trigger, and Home tabs.

A ``trigger_id`` works once (``exchanged_trigger_id`` after) and for 3 s after the request that carried
it (``expired_trigger_id``), on the fake's clock; an id Slack never issued is ``invalid_trigger_id``.
Views are checked against Slack's limits (``invalid_arguments`` with ``response_metadata.messages``).
"""

from __future__ import annotations

from bot.simulator.slack import limits
from bot.simulator.slack.records import JsonDict, MethodError, Trigger, require
from bot.simulator.slack.render import render_view
from bot.simulator.slack.view_store import ViewStore


class ViewMethods(ViewStore):
    """``views.open``, ``views.push``, ``views.update``, ``views.publish``."""

    def use_trigger(self, args: JsonDict) -> Trigger:
        """Spend the call's trigger, refused as Slack refuses a stale or reused one."""
        trigger = self._triggers.get(str(args.get("trigger_id") or ""))
        if trigger is None:
            raise MethodError("invalid_trigger_id")
        if trigger.used:
            raise MethodError("exchanged_trigger_id")
        if self.clock() - trigger.issued > self.trigger_ttl:
            raise MethodError("expired_trigger_id")
        trigger.used = True
        return trigger

    @staticmethod
    def view_arg(args: JsonDict, *, kind: str = "modal") -> JsonDict:
        """The call's view, refused when it is not a `kind` view within Slack's limits."""
        view = args.get("view")
        if not isinstance(view, dict):
            raise MethodError("invalid_arguments", messages=["[ERROR] missing required field: view"])
        if view.get("type") != kind:
            raise MethodError(
                "invalid_arguments", messages=["[ERROR] must be a valid enum value [json-pointer:/view/type]"]
            )
        problems = limits.view_errors(view)
        if problems:
            raise MethodError("invalid_arguments", messages=limits.as_response_messages(problems))
        return view

    def views_open(self, args: JsonDict) -> JsonDict:
        view = self.view_arg(args)
        trigger = self.use_trigger(args)
        user = trigger.user or str(args.get("user_id") or "")
        self.modal_stack(user).clear()  # a new modal starts a new stack
        stored = self.push_modal(user, view)
        self.show(f"[modal for {self.who(user)}] {render_view(stored.view, self)}")
        return {"view": self.view_api(stored)}

    def views_push(self, args: JsonDict) -> JsonDict:
        view = self.view_arg(args)
        trigger = self.use_trigger(args)
        user = trigger.user or ""
        stack = self.modal_stack(user)
        if not stack:
            raise MethodError("not_found")
        if len(stack) >= limits.VIEW_STACK:
            raise MethodError("push_limit_reached")
        stored = self.push_modal(user, view)
        self.show(f"[modal for {self.who(user)}, pushed] {render_view(stored.view, self)}")
        return {"view": self.view_api(stored)}

    def views_update(self, args: JsonDict) -> JsonDict:
        view = self.view_arg(args)
        if args.get("view_id"):
            stored = self.views.get(str(args["view_id"]))
        elif args.get("external_id"):
            stored = next(
                (v for v in self.views.values() if v.view.get("external_id") == args["external_id"]), None
            )
        else:
            raise MethodError("invalid_arguments")
        if stored is None or stored.closed:
            raise MethodError("not_found")
        if args.get("hash") and args["hash"] != stored.hash:
            raise MethodError("hash_conflict")
        self.replace_view(stored, view, stored.view.get("state"))
        self.show(f"[modal for {self.who(stored.user)}, updated] {render_view(stored.view, self)}")
        return {"view": self.view_api(stored)}

    def views_publish(self, args: JsonDict) -> JsonDict:
        user = require(args, "user_id", "invalid_arguments")
        member = self.users.get(user)
        if member is None or member.deleted:
            raise MethodError("user_not_found")
        view = self.view_arg(args, kind="home")
        existing = self.home(user)
        if existing is not None and args.get("hash") and args["hash"] != existing.hash:
            raise MethodError("hash_conflict")
        stored = self.set_home(user, view)
        self.show(f"[Home tab of {self.who(user)}] {render_view(stored.view, self)}")
        return {"view": self.view_api(stored)}
