"""Group commit: writes that arrive together share one write, and each caller gets that write's outcome."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.group_commit import GroupCommit


async def test_items_queued_during_a_write_share_the_next_one() -> None:
    batches: list[list[int]] = []
    first_write_started = asyncio.Event()
    first_write_may_finish = asyncio.Event()

    async def write(batch: list[int]) -> None:
        batches.append(batch)
        if len(batches) == 1:
            first_write_started.set()
            await first_write_may_finish.wait()

    group: GroupCommit[int] = GroupCommit(write)
    first = asyncio.create_task(group.add([0]))
    await asyncio.wait_for(first_write_started.wait(), 5)
    later = [asyncio.create_task(group.add([i, i + 100])) for i in range(1, 10)]
    await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *later])  # nobody returns before their rows are written
    first_write_may_finish.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 5)
    assert batches[0] == [0]
    assert len(batches) == 2
    assert sorted(batches[1]) == sorted(x for i in range(1, 10) for x in (i, i + 100))


async def test_a_failed_write_fails_every_caller_of_that_batch_and_no_later_one() -> None:
    calls = 0
    started = asyncio.Event()
    release = asyncio.Event()

    async def write(batch: list[str]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await release.wait()
        if calls == 2:
            raise RuntimeError("database went away")

    group: GroupCommit[str] = GroupCommit(write)
    first = asyncio.create_task(group.add(["a"]))
    await asyncio.wait_for(started.wait(), 5)
    doomed = [asyncio.create_task(group.add([f"b{i}"])) for i in range(5)]
    await asyncio.sleep(0)
    release.set()
    await first
    outcomes = await asyncio.gather(*doomed, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and "went away" in str(o) for o in outcomes)
    await group.add(["c"])  # the next batch is written normally
    assert calls == 3


async def test_a_lone_caller_writes_at_once() -> None:
    seen: list[list[int]] = []

    async def write(batch: list[int]) -> None:
        seen.append(batch)

    group: GroupCommit[int] = GroupCommit(write)
    for i in range(3):
        await group.add([i])
    assert seen == [[0], [1], [2]]


@pytest.mark.parametrize("size", [1, 50])
async def test_every_item_is_written_exactly_once(size: int) -> None:
    written: list[int] = []

    async def write(batch: list[int]) -> None:
        await asyncio.sleep(0)
        written.extend(batch)

    group: GroupCommit[int] = GroupCommit(write)
    await asyncio.gather(*(group.add(range(i * size, (i + 1) * size)) for i in range(40)))
    assert sorted(written) == list(range(40 * size))
