"""The facades' docstrings are their maps: each lists every public method, so the map cannot drift.

A method is listed when the class docstring names it in backticks followed by `(`, as in
`submit(Submission) -> SubmitResult` or `close()`; a name so written that is no public method (a
method renamed, removed or made private) fails too.
"""

from __future__ import annotations

import inspect
import re

import pytest

from bot.ecs import EcsClient
from bot.store import Store
from bot.workflow import NoticeLedger, Workflow

FACADES = [Workflow, Store, EcsClient]

_LISTED = re.compile(r"`([a-z_][a-z0-9_]*)\(")
_RAISES = re.compile(r"\b[Rr]aise|\bnever raises?\b|\bNever raises\b")


def public_methods(cls: type) -> set[str]:
    """Public methods of `cls` and everything it inherits (its mixins), no dunder, no private, no property."""
    names = set()
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(cls, name)
        if isinstance(attribute, (classmethod, staticmethod)) or inspect.isfunction(attribute):
            names.add(name)
    return names


def listed_methods(cls: type) -> set[str]:
    return set(_LISTED.findall(inspect.getdoc(cls) or ""))


@pytest.mark.parametrize("facade", FACADES, ids=lambda c: c.__name__)
def test_docstring_lists_every_public_method(facade: type) -> None:
    assert public_methods(facade) - listed_methods(facade) == set(), "public but not in the map"


@pytest.mark.parametrize("facade", FACADES, ids=lambda c: c.__name__)
def test_docstring_lists_no_method_that_is_not_there(facade: type) -> None:
    assert listed_methods(facade) - public_methods(facade) == set(), "in the map but no public method"


@pytest.mark.parametrize("facade", FACADES, ids=lambda c: c.__name__)
def test_every_public_method_says_what_it_raises(facade: type) -> None:
    silent = sorted(
        name
        for name in public_methods(facade)
        if not _RAISES.search(inspect.getdoc(getattr(facade, name)) or "")
    )
    assert silent == []


def test_the_check_sees_mixins_and_would_see_a_missing_name() -> None:
    """The comparison reaches methods two and three mixins deep, and a class whose map misses one fails."""
    assert {"expire", "view_of", "resume_preflight", "run_break_glass"} <= public_methods(Workflow)

    class Drifted(Workflow):
        """`submit(...)` only."""

        def extra(self) -> None:
            """Raises nothing."""

    assert "extra" in public_methods(Drifted) - listed_methods(Drifted)
    assert listed_methods(Drifted) == {"submit"}


def test_the_store_is_the_notice_ledger_the_wiring_hands_the_front_end() -> None:
    """`bot/app.py` hands the `Store` to the `SlackNotifier` as its `NoticeLedger` (a workflow port): every
    call of the port is a Store method of the same signature, listed in the Store's map."""
    port = {name for name in vars(NoticeLedger) if not name.startswith("_")}
    assert port
    assert port <= public_methods(Store) & listed_methods(Store)
    for name in port:
        assert inspect.signature(getattr(Store, name)) == inspect.signature(getattr(NoticeLedger, name)), name
