"""Every callback, action and block id the bot registers, so listeners and builders cannot drift."""

from __future__ import annotations

COMMAND = "/reset-ecs-password"

REQUEST_MODAL = "reset_request"
DENY_MODAL = "deny_reason"
REVEAL_MODAL = "reveal_password"

TARGET_BLOCK, TARGET_ACTION = "target", "target_select"
SERVERS_BLOCK, SERVERS_ACTION = "servers", "servers_search"
PASTE_BLOCK, PASTE_ACTION = "paste", "servers_paste"
TAG_BLOCK, TAG_ACTION = "tag", "tag_filter"
MODE_BLOCK, MODE_ACTION = "password_mode", "password_mode_pick"
REBOOT_BLOCK, REBOOT_ACTION = "reboot", "reboot_pick"
REASON_BLOCK, REASON_ACTION = "reason", "reason_text"
DENY_REASON_BLOCK, DENY_REASON_ACTION = "deny_reason", "deny_reason_text"

APPROVE_ACTION = "approve_request"
DENY_ACTION = "deny_request"
CANCEL_ACTION = "cancel_request"
REVEAL_ACTION = "reveal_password"

GLOBAL_SHORTCUT = "reset_ecs_passwords"
MESSAGE_SHORTCUT = "reset_servers_in_message"
AGAIN_ACTION = "request_again"

HOME_NEW_REQUEST_ACTION = "home_new_request"
HOME_APPROVE_ACTION = "home_approve"
HOME_CANCEL_ACTION = "home_cancel"
HOME_REVEAL_ACTION = "home_reveal"
HOME_ACKNOWLEDGE_ACTION = "home_acknowledge"
"""The Home tab's own buttons: a click there has no message to answer in, so its answer is drawn on the
Home tab itself. Its Deny and Flag are the card's (`DENY_ACTION`, `FLAG_ACTION`): each opens the same
reason form wherever it is clicked."""

EMERGENCY_BLOCK, EMERGENCY_ACTION = "emergency", "emergency_pick"
BREAK_GLASS_MODAL = "break_glass_confirm"
ACKNOWLEDGE_ACTION = "acknowledge_break_glass"
FLAG_ACTION = "flag_break_glass"
FLAG_MODAL = "flag_reason"
FLAG_REASON_BLOCK, FLAG_REASON_ACTION = "flag_reason", "flag_reason_text"
