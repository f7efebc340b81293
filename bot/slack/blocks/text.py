"""Text that came from outside (server names, reasons, deny reasons, cloud errors) in Slack's mrkdwn.

`escape` is the one door for such text into a message or view: whatever it holds can only be read,
never parsed. Slack's own escapes (`&amp; &lt; &gt;`) disarm mentions, links and special commands
(`<!here>`, `<@U…>`, `<#C…>`, `<!subteam^…>`, `<https://…|label>`); the text is then shown as a code
span, where emphasis, strike and emoji are not parsed, with its backticks (which would end the span)
and line breaks (which could forge a line or a quote) replaced by visible marks. Invisible and
bidirectional-control characters are shown as `[U+XXXX]`. Text objects are sent `verbatim` as well, so
Slack does not turn bare URLs or names into links either.

`suspicious_name` tells which names to flag on a card: invisible characters, or letters of several
scripts (a Cyrillic `\u0430` among Latin letters, which renders exactly like `a`).
"""

from __future__ import annotations

import unicodedata

EMPTY = "_(empty)_"
BACKTICK = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT, where a backtick was (it would close the span)
LINE_BREAK = "⏎"  # U+23CE, shown where a line break was
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(char: str) -> bool:
    """Characters that render as nothing, or move what follows: format (Cf), control (Cc) and
    unusual separators (Zs other than the space, Zl, Zp), plus the bidirectional controls."""
    if char in BIDI_CONTROLS:
        return True
    category = unicodedata.category(char)
    return category in ("Cf", "Cc", "Zl", "Zp", "Co", "Cn") or (category == "Zs" and char != " ")


def visible(text: str) -> str:
    """`text` with line breaks as ⏎ and every hidden character as `[U+XXXX]` (plain, not mrkdwn)."""
    out: list[str] = []
    for char in text:
        if char in LINE_BREAKS:
            out.append(LINE_BREAK)
        elif _hidden(char):
            out.append(f"[U+{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def escape(text: str) -> str:
    """Outside text as a mrkdwn fragment that renders as exactly what it says, on one line.

    Examples: `escape("web-01")` is "`web-01`"; `escape("<!here> *x*")` is "`&lt;!here&gt; *x*`",
    which Slack shows as `<!here> *x*` in code style, notifying no one. Empty text is "_(empty)_".
    """
    shown = visible(text).replace("`", BACKTICK).strip()
    if not shown:
        return EMPTY
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"`{shown}`"


def _script(char: str) -> str | None:
    """The script a letter or digit belongs to, from its Unicode name (`CYRILLIC SMALL LETTER A`)."""
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    if not (char.isalpha() or char.isdigit()):
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def suspicious_name(name: str) -> str | None:
    """Why a name could pass for another one, or None: hidden characters, line breaks, backticks, or
    letters and digits of more than one script."""
    if any(_hidden(c) or c in LINE_BREAKS for c in name):
        return "invisible or direction-changing characters"
    scripts = {s for s in map(_script, name) if s is not None}
    if len(scripts) > 1:
        return "look-alike letters of several scripts (" + ", ".join(sorted(scripts)).lower() + ")"
    if "`" in name:
        return "a backtick"
    return None


def name_as_shown(name: str) -> str:
    """A server name as cards show it: as is, or, when it mixes scripts, with every non-ASCII
    character written as `[U+XXXX]` so the look-alike is visible (plain text, for `escape`)."""
    scripts = {s for s in map(_script, name) if s is not None}
    if len(scripts) <= 1:
        return name
    return "".join(c if c.isascii() else f"[U+{ord(c):04X}]" for c in name)
