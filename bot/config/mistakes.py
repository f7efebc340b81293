"""Operator mistakes that the validators cannot see, said in plain words: YAML syntax and misspelt variables.

PyYAML's messages ("found character '\\t' that cannot start any token", "expected <block end>, but found
'?'") name the parser's state, not the mistake; `explain_yaml_error` names the usual mistakes (a tab, a
line indented differently from its neighbours, a colon inside a value, an unclosed quote) with the line
and column. `misspelt_variables` finds `SLACK_BOT_TOKNE` beside the names the bot reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import yaml

__all__ = ["EMPTY_FILE", "explain_yaml_error", "misspelt_variables"]

EMPTY_FILE = (
    "the file is empty (or only comments); write `targets:` followed by a list of targets "
    "(start from examples/targets.yml)"
)

# Read by the demo's targets file and the tests, not by the bot's settings: never "misspelt".
_KNOWN_ELSEWHERE = frozenset({"BOT_SIMULATOR_URL", "BOT_TEST_POSTGRES_URL"})


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line] if 0 <= line < len(lines) else ""


def explain_yaml_error(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, int | None, str]:
    """(line, column, sentence) for a YAML syntax error; line and column count from 1 and may be None."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    problem = exc.problem or ""
    context = exc.context or ""
    original = " ".join(p for p in (context, problem) if p)
    if "written twice" in problem:
        return line, column, problem
    if "'\\t'" in problem or "tab" in problem:
        return line, column, "a tab character; YAML indents with spaces only: replace the tab with spaces"
    if mark is not None and "\t" in _line_text(text, mark.line)[: max(mark.column, 1)]:
        return line, column, "a tab character; YAML indents with spaces only: replace the tab with spaces"
    if "quoted scalar" in context:
        opened = exc.context_mark.line + 1 if exc.context_mark else line
        return opened, None, f"a quote opened on line {opened} is never closed"
    if problem.startswith("mapping values are not allowed here"):
        return (
            line,
            column,
            (
                "a colon where YAML does not expect one: either this line is indented more than the key "
                "above it (keys of one target start in the same column), or a value contains ': ' and must "
                "be put in quotes"
            ),
        )
    if "expected <block end>" in problem or "did not find expected key" in problem:
        return (
            line,
            column,
            (
                "this line is indented differently from the lines around it: keys of one target start in the "
                f"same column, and each target starts with '- ' under `targets:` (YAML said: {original})"
            ),
        )
    if "could not find expected ':'" in problem:
        return line, column, f"a key without its colon; write `key: value` (YAML said: {original})"
    if "found unexpected end of stream" in problem or "<stream end>" in problem:
        return (
            line,
            column,
            f"the file ends in the middle of something: a bracket or quote left open ({original})",
        )
    return line, column, f"YAML syntax error: {original}"


def misspelt_variables(environ: Mapping[str, str], known: Iterable[str]) -> list[str]:
    """One line per set SLACK_*/BOT_* variable the bot does not read that looks like one it does."""
    names = {k.upper() for k in known} | _KNOWN_ELSEWHERE
    problems = []
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not value.strip() or upper in names or not upper.startswith(("SLACK_", "BOT_")):
            continue
        close = difflib.get_close_matches(upper, sorted(names), n=1, cutoff=0.8)
        if close:
            problems.append(
                f"{name}: set, but the bot reads no such variable; did you mean {close[0]}? "
                f"(rename it, or unset it if it is meant for something else)"
            )
    return problems
