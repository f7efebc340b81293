"""What the workflow hands a front end is made of domain and workflow words, never of the store's or the
cloud client's types: a front end that draws a result needs no import from below the workflow."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator

import bot.domain
import bot.store
import bot.store.records
import bot.workflow
from bot.workflow import Workflow
from bot.workflow.service import RevealResult


def _types_in(hint: object, seen: set[object]) -> Iterator[type]:
    """Every class a type hint names, down through generics (a callable's list of arguments too) and the
    fields of dataclasses."""
    if isinstance(hint, list):
        for item in hint:
            yield from _types_in(item, seen)
        return
    if hint in seen:
        return
    seen.add(hint)
    if isinstance(hint, type):
        yield hint
        if dataclasses.is_dataclass(hint):
            for field_hint in typing.get_type_hints(hint).values():
                yield from _types_in(field_hint, seen)
    for argument in typing.get_args(hint):
        yield from _types_in(argument, seen)


def _facade_types() -> set[type]:
    seen: set[object] = set()
    found: set[type] = set()
    for name in dir(Workflow):
        method = getattr(Workflow, name)
        if name.startswith("_") or not callable(method):
            continue
        for hint in typing.get_type_hints(method).values():
            found.update(_types_in(hint, seen))
    return found


def test_no_store_or_cloud_type_crosses_the_workflow_facade() -> None:
    leaked = sorted(
        f"{t.__module__}.{t.__qualname__}"
        for t in _facade_types()
        if t.__module__.startswith(("bot.store", "bot.ecs"))
    )
    assert leaked == []


def test_reveal_result_is_a_domain_word_reexported_where_it_was() -> None:
    assert RevealResult in _facade_types()
    assert RevealResult.__module__ == "bot.domain"
    assert bot.workflow.RevealResult is bot.domain.RevealResult
    assert bot.store.RevealResult is bot.store.records.RevealResult is bot.domain.RevealResult
